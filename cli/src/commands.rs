//! The subcommands. Each returns the exit code, or a message for status 2
//! (a problem with the invocation or the files, not with the flags).

use std::path::Path;
use std::process::ExitCode;

use vexil_compiler::{Code, Conventions, Project};
use vexil_runtime::{Engine, EngineOptions};
use vexil_words::count;

use crate::output::{color_enabled, paint, Style};
use crate::Format;

fn load(dir: &Path) -> Result<Project, String> {
    load_project(dir).map(|(project, _)| project)
}

/// The sources under `dir`, checked against the project's conventions
/// (`vexil.toml` at or above `dir`, see `Conventions::find`).
pub(crate) fn load_project(dir: &Path) -> Result<(Project, Conventions), String> {
    if !dir.exists() {
        return Err(format!("`{}` does not exist", dir.display()));
    }
    let mut project = Project::from_dir(dir).map_err(|e| e.to_string())?;
    if project.paths().next().is_none() {
        return Err(format!("no `.flag` files in `{}`", dir.display()));
    }
    let conventions = Conventions::find(dir)?.map(|(_, c)| c).unwrap_or_default();
    project.set_conventions(conventions.clone());
    Ok((project, conventions))
}

/// The bundle of a directory of sources. When it does not compile, its
/// diagnostics and a closing line go to standard error and the exit code
/// is `Err(1)`: `vexil eval`, `analyze`, `simulate` and `plan` print
/// nothing else then.
pub(crate) fn load_bundle(dir: &Path) -> Result<Result<vexil_ir::ValidBundle, ExitCode>, String> {
    let project = load(dir)?;
    Ok(bundle_or_report(&project, "the flags do not compile"))
}

/// The project's bundle, or its diagnostics and `CLOSING: fix the errors
/// above` on standard error and exit code 1.
pub(crate) fn bundle_or_report(
    project: &vexil_compiler::Project,
    closing: &str,
) -> Result<vexil_ir::ValidBundle, ExitCode> {
    project.bundle(false).map_err(|diagnostics| {
        eprint!("{}", project.render(&diagnostics, color_enabled()));
        eprintln!(
            "{}",
            paint(&format!("{closing}: fix the errors above"), Style::Error)
        );
        ExitCode::from(1)
    })
}

/// A date or time given on the command line (`--today`, `--now`,
/// `--start`), in microseconds; the refusal says what is accepted.
pub(crate) fn time_option(text: &str, option: &str) -> Result<i64, String> {
    vexil_ir::value::parse_time(text).map_err(|e| format!("invalid {option} `{text}`: {e}"))
}

pub fn check(
    dir: &Path,
    format: Format,
    today: Option<&str>,
    deny_warnings: bool,
) -> Result<ExitCode, String> {
    let mut project = load(dir)?;
    let today = match today {
        Some(t) => time_option(t, "--today")?,
        None => vexil_compiler::today(),
    };
    project.set_today(Some(today));
    let diagnostics = project.diagnostics();
    let failed = diagnostics.iter().any(|d| d.is_error() || deny_warnings);
    match format {
        Format::Json => println!("{}", project.render_json(&diagnostics)),
        Format::Text => {
            print!("{}", project.render(&diagnostics, color_enabled()));
            let files = project.paths().count();
            let summary = vexil_compiler::render::summary(&diagnostics);
            let line = format!("checked {}: {summary}", count(files, "file"));
            let style = if failed { Style::Error } else { Style::Ok };
            println!("{}", paint(&line, style));
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn fmt(dir: &Path, check_only: bool) -> Result<ExitCode, String> {
    let paths = vexil_compiler::flag_files(dir).map_err(|e| e.to_string())?;
    let mut changed = Vec::new();
    let mut broken = Vec::new();
    for path in &paths {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        // Not UTF-8: `vexil check` says where (E0002); the other files go on.
        let Ok(text) = String::from_utf8(bytes) else {
            broken.push((path.display().to_string(), "is not UTF-8"));
            continue;
        };
        match vexil_fmt::format_source(&text) {
            Ok(formatted) if formatted != text => {
                if !check_only {
                    std::fs::write(path, &formatted)
                        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
                }
                changed.push(path.display().to_string());
            }
            Ok(_) => {}
            Err(_) => broken.push((path.display().to_string(), "has syntax errors")),
        }
    }
    for (p, why) in &broken {
        eprintln!(
            "{}: `{p}` {why}; run `vexil check` (not formatted)",
            paint("warning", Style::Error)
        );
    }
    if check_only {
        for p in &changed {
            println!("would reformat {p}");
        }
        let failed = !changed.is_empty() || !broken.is_empty();
        // Files that could not be formatted are counted too, so that the
        // summary agrees with the exit status.
        let not_formatted = match broken.len() {
            0 => String::new(),
            n => format!(", {n} not formatted"),
        };
        println!(
            "{} checked, {} would change{not_formatted}",
            count(paths.len(), "file"),
            changed.len()
        );
        return Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    for p in &changed {
        println!("formatted {p}");
    }
    Ok(if broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn build(dir: &Path, output: &Path, with_tests: bool) -> Result<ExitCode, String> {
    let mut project = load(dir)?;
    project.set_today(Some(vexil_compiler::today()));
    match project.bundle(with_tests) {
        Ok(bundle) => {
            std::fs::write(output, bundle.to_json())
                .map_err(|e| format!("cannot write `{}`: {e}", output.display()))?;
            println!(
                "wrote {} ({}, {}, {})",
                output.display(),
                count(bundle.flags.len(), "flag"),
                count(bundle.experiments.len(), "experiment"),
                count(bundle.segments.len(), "segment")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            print!("{}", project.render(&diagnostics, color_enabled()));
            println!(
                "{}",
                paint("build failed: fix the errors above", Style::Error)
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// The flag diagnostics' codes (`E`, `W`), and the statistics engine's
/// (`S`) that `vexil stats` and `vexil analyze` print.
pub fn explain(code: &str) -> Result<ExitCode, String> {
    if let Some(s) = vexil_analytics::stats_code(code) {
        println!("{} (error): {}\n\n{}", s.code, s.title, s.explanation);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(c) = Code::parse(code) else {
        let all: Vec<&str> = Code::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(vexil_analytics::STATS_CODES.iter().map(|s| s.code))
            .collect();
        return Err(format!(
            "unknown code `{code}`; codes are {}",
            all.join(", ")
        ));
    };
    println!(
        "{} ({}): {}\n\n{}",
        c.as_str(),
        match c.severity() {
            vexil_compiler::Severity::Error => "error",
            vexil_compiler::Severity::Warning => "warning",
        },
        c.title(),
        c.explanation()
    );
    Ok(ExitCode::SUCCESS)
}

/// Load a directory of sources (reporting diagnostics) or a bundle file,
/// on the interpreter: `eval` evaluates each flag once, which the
/// interpreter answers exactly (it is what compiled code is tested
/// against) sooner than compiling the repository would.
fn load_engine(path: &Path) -> Result<Result<Engine, ExitCode>, String> {
    let options = || EngineOptions {
        backend: vexil_runtime::BackendChoice::Interpreter,
        ..EngineOptions::default()
    };
    if path.is_file() && path.extension().is_some_and(|e| e == "json") {
        return Engine::from_bundle_file(path, options())
            .map(Ok)
            .map_err(|e| e.to_string());
    }
    match load_bundle(path)? {
        Ok(bundle) => Engine::from_bundle(bundle, options())
            .map(Ok)
            .map_err(|e| e.to_string()),
        Err(code) => Ok(Err(code)),
    }
}

pub fn eval(
    dir: &Path,
    flag: Option<&str>,
    all: bool,
    explain: bool,
    context: Option<&Path>,
    now: Option<&str>,
) -> Result<ExitCode, String> {
    let engine = match load_engine(dir)? {
        Ok(engine) => engine,
        Err(code) => return Ok(code),
    };
    let snapshot = engine.snapshot();
    let now = match now {
        Some(t) => time_option(t, "--now")?,
        None => vexil_runtime::now(),
    };
    let text = match context {
        None => "{}".to_string(),
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf)
                .map_err(|e| format!("cannot read the context from standard input: {e}"))?;
            buf
        }
        Some(p) => {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?
        }
    };
    let (ctx, warnings) = match snapshot.layout().context_from_json_str_with_warnings(&text) {
        Ok((ctx, warnings)) => {
            // Not an error: evaluation goes on without them, as a service's
            // would, but a typo in the context should not pass unseen: on
            // standard error for a person, in the JSON for a program.
            for w in &warnings {
                eprintln!("{}: {w}", paint("warning", Style::Error));
            }
            (ctx, warnings.iter().map(warning_json).collect::<Vec<_>>())
        }
        Err(e) => {
            // The OpenFeature answer to a context that is not JSON.
            let mut details = serde_json::json!({
                "reason": "ERROR",
                "errorCode": "PARSE_ERROR",
                "errorMessage": format!("the context is not valid: {e}"),
            });
            // `--all` has no one key to name.
            if let (Some(flag), Some(map)) = (flag, details.as_object_mut()) {
                map.insert("key".into(), flag.into());
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&details).unwrap_or_default()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let details: Vec<vexil_runtime::Details> = if all {
        snapshot
            .evaluate_all(&ctx, now)
            .iter()
            .map(|e| e.to_details())
            .collect()
    } else {
        let name = flag.unwrap_or("");
        let mut details = snapshot.evaluate(name, &ctx, now).to_details();
        if details.error_code == Some(vexil_ir::ErrorCode::FlagNotFound) {
            not_found(&snapshot, name, &mut details);
        }
        vec![details]
    };
    let mut out = if all {
        serde_json::json!({ "flags": details })
    } else {
        serde_json::to_value(&details[0]).map_err(|e| e.to_string())?
    };
    if let (false, Some(map)) = (warnings.is_empty(), out.as_object_mut()) {
        map.insert("warnings".into(), warnings.into());
    }
    if explain {
        let given: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let explanation = flag.and_then(|f| snapshot.explain(f, &ctx, Some(&given), now));
        if let Some(map) = out.as_object_mut() {
            // An experiment, or no such flag: nothing to explain.
            map.insert(
                "explanation".into(),
                serde_json::to_value(explanation).unwrap_or_default(),
            );
        }
    }
    let json = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    println!("{json}");
    let not_found = details
        .iter()
        .any(|d| d.error_code == Some(vexil_ir::ErrorCode::FlagNotFound));
    Ok(if not_found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A context warning in `vexil eval`'s JSON: what kind, the names, and the
/// sentence standard error shows.
fn warning_json(w: &vexil_runtime::ContextWarning) -> serde_json::Value {
    use vexil_runtime::ContextWarning as W;
    let message = w.to_string();
    match w {
        W::UnknownContext { name, nearest } => serde_json::json!({
            "kind": "unknown_context",
            "context": name,
            "nearest": nearest,
            "message": message,
        }),
        W::UnknownField {
            context,
            name,
            nearest,
        } => serde_json::json!({
            "kind": "unknown_field",
            "context": context,
            "field": name,
            "nearest": nearest,
            "message": message,
        }),
    }
}

/// A flag that does not exist: the details name it (the snapshot cannot
/// lend a name it does not hold), and a help line on standard error
/// suggests the nearest one.
fn not_found(snapshot: &vexil_runtime::Snapshot, name: &str, details: &mut vexil_runtime::Details) {
    details.key = name.to_string();
    details.error_message = Some(format!("no flag or experiment named `{name}`"));
    let names = snapshot.targets().map(|(n, _)| n);
    if let Some(near) = vexil_compiler::did_you_mean(name, names) {
        eprintln!("help: did you mean `{near}`?");
    }
}

/// The `test` blocks of a directory of sources, or of a bundle built with
/// `vexil build --with-tests`. A directory that does not compile prints
/// its diagnostics and gives `Err(1)`.
fn load_tests(path: &Path) -> Result<Result<vexil_ir::ValidBundle, ExitCode>, String> {
    if path.is_file() && path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let bundle = vexil_ir::Bundle::from_json(&text)
            .map_err(|e| format!("`{}` is not a bundle: {e}", path.display()))?;
        if bundle.tests.is_empty() {
            return Err(format!(
                "the bundle `{}` has no tests: build it with `vexil build --with-tests`",
                path.display()
            ));
        }
        return Ok(Ok(bundle));
    }
    let mut project = load(path)?;
    project.set_today(None);
    match project.bundle(true) {
        Ok(b) => Ok(Ok(b)),
        Err(diagnostics) => {
            print!("{}", project.render(&diagnostics, color_enabled()));
            println!(
                "{}",
                paint("tests not run: the flags do not compile", Style::Error)
            );
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Run the tests in `path` (sources or a bundle), in the order they are
/// declared (files sorted by path); `name` keeps only the tests whose
/// name contains it.
pub fn test(path: &Path, format: Format, name: Option<&str>) -> Result<ExitCode, String> {
    let bundle = match load_tests(path)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let mut tests = bundle.tests.clone();
    if let Some(pattern) = name {
        tests.retain(|t| t.name.contains(pattern));
        if tests.is_empty() {
            let mut message = format!("no test's name contains `{pattern}`");
            let names = bundle.tests.iter().map(|t| t.name.as_str());
            if let Some(near) = vexil_compiler::did_you_mean(pattern, names) {
                message.push_str(&format!("; did you mean `{near}`?"));
            }
            return Err(message);
        }
    }
    let options = EngineOptions::default();
    let engine = Engine::from_bundle(bundle, options).map_err(|e| e.to_string())?;
    let snapshot = engine.snapshot();
    let results = vexil_runtime::testing::run_tests(&snapshot, &tests, vexil_runtime::now());
    let failed = results.iter().filter(|r| !r.passed()).count();
    let expectations: usize = tests.iter().map(|t| t.expectations.len()).sum();
    match format {
        Format::Json => {
            let json: Vec<serde_json::Value> = results
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.name,
                        "file": r.location.file,
                        "line": r.location.line,
                        "passed": r.passed(),
                        "failures": r.failures.iter().map(|f| serde_json::json!({
                            "file": f.location.file,
                            "line": f.location.line,
                            "column": f.location.column,
                            "flag": f.target,
                            "expected": f.expected,
                            "actual": f.actual,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
            );
        }
        Format::Text => {
            for r in &results {
                if r.passed() {
                    println!("{} {}", paint("ok  ", Style::Ok), r.name);
                    continue;
                }
                println!("{} {}", paint("FAIL", Style::Error), r.name);
                for f in &r.failures {
                    println!(
                        "     {}:{}:{}: expect {}: {}",
                        f.location.file, f.location.line, f.location.column, f.target, f.expected
                    );
                    println!("       got {}", f.actual);
                }
            }
            let line = format!(
                "{}, {}: {} passed, {} failed",
                count(results.len(), "test"),
                count(expectations, "expectation"),
                results.len() - failed,
                failed
            );
            println!(
                "{}",
                paint(&line, if failed > 0 { Style::Error } else { Style::Ok })
            );
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

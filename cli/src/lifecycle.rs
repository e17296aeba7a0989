//! `vexil inventory`, `vexil stale`, `vexil refs`, `vexil diff` and `vexil
//! schedule`: arguments in, reports out. The work is in `vexil-lifecycle`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use vexil_lifecycle::{report, revision, History, StaleOptions, Usage};

use crate::commands::{bundle_or_report, load_bundle, load_project, time_option};
use crate::output::{paint, Style};
use crate::remote::{Remote, ServerArgs};

/// How a report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON document for tools.
    Json,
    /// Comma-separated values with a header line.
    Csv,
    /// A Markdown table, for a wiki page or a pull-request comment.
    Markdown,
}

#[derive(clap::Args)]
pub struct InventoryArgs {
    /// A directory of `.flag` files (in a git repository for the dates).
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// The day statuses are relative to, like 2026-12-01 (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    today: Option<String>,
}

#[derive(clap::Args)]
pub struct StaleArgs {
    /// A directory of `.flag` files (in a git repository for the dates).
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// The day the report is relative to, like 2026-12-01 (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    today: Option<String>,
    /// A flag serving one value to everyone is stale after this many days
    /// unchanged (by git; without git history, at once).
    #[arg(long, value_name = "DAYS", default_value_t = vexil_lifecycle::stale::LAUNCHED_DAYS)]
    launched_days: i64,
    /// Application code to search (files or directories, `.gitignore`
    /// respected): a flag no code refers to is stale as unreferenced.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    code: Vec<PathBuf>,
    /// A running `vexil serve` (like http://127.0.0.1:8080). With
    /// `--unused-days N`, a flag its store's usage history shows no
    /// evaluation of in N days is stale as unused (`GET /v1/usage`, a
    /// viewer or admin key); without, a flag it has not evaluated since it
    /// started (`/metrics`, a server or admin key). The key comes from
    /// `VEXIL_KEY` or `--key-file`.
    #[arg(long, value_name = "URL", conflicts_with = "usage")]
    server: Option<String>,
    /// With `--server`: a file whose first line is the API key.
    #[arg(long, value_name = "FILE", requires = "server")]
    key_file: Option<PathBuf>,
    /// A server's usage saved to a file, instead of asking it: the JSON of
    /// `GET /v1/usage` (with `--unused-days`), or its metrics (`GET
    /// /metrics`): a flag it shows no evaluation of is stale as unused.
    #[arg(long, value_name = "FILE")]
    usage: Option<PathBuf>,
    /// With `--server` or a `/v1/usage` file: a flag not evaluated in this
    /// many days is stale as unused, when the usage history covers them.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(1..=366))]
    unused_days: Option<i64>,
}

/// How `vexil diff` writes the changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Each item and its changes, for a terminal.
    Text,
    /// Headings and bullets, for a pull-request comment.
    Markdown,
    /// One JSON array of changes, for tools.
    Json,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The old side: a directory of `.flag` files, a bundle `vexil build`
    /// wrote, a git revision (the flags under `--dir` at that commit,
    /// branch or tag), or `REV1..REV2` for both sides. With `--since`: the
    /// directory of the new side.
    old: Option<String>,
    /// The new side, the same kinds (default: the `.flag` files under
    /// `--dir` as they are). When either side is a bundle, both are
    /// compared as bundles (sources are compiled).
    new: Option<String>,
    /// Release notes: the changes from git tag or revision TAG to the
    /// working tree, grouped by owner.
    #[arg(long, value_name = "TAG")]
    since: Option<String>,
    /// Where the flags are in the repository, for revisions.
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
}

#[derive(clap::Args)]
pub struct CleanupArgs {
    /// The flag to remove.
    flag: String,
    /// The value every caller keeps (a value as a `.flag` file writes it,
    /// or a variant's name).
    #[arg(long, value_name = "VALUE")]
    keep: String,
    /// A directory of `.flag` files.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Application code to search for the references left to change.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    code: Vec<PathBuf>,
    /// Print what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// How `vexil refs` writes what it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RefsFormat {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON document for tools.
    Json,
}

#[derive(clap::Args)]
pub struct RefsArgs {
    /// The directory of `.flag` files declaring the keys.
    #[arg(long, value_name = "DIR", default_value = ".")]
    flags: PathBuf,
    /// Application code: files or directories (default: the current one).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = RefsFormat::Table)]
    format: RefsFormat,
}

#[derive(clap::Args)]
pub struct ScheduleArgs {
    /// A directory of `.flag` files.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write an iCalendar file (RFC 5545) instead, one event per change.
    #[arg(long, conflicts_with = "format")]
    ics: bool,
    /// Only changes at or after this time, like 2026-12-01 or
    /// 2026-12-01T09:00:00Z (default: every change).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

struct Loaded {
    bundle: vexil_ir::ValidBundle,
    entries: Vec<vexil_lifecycle::Entry>,
    conventions: vexil_compiler::Conventions,
    today: i64,
}

fn load(dir: &Path, today: Option<&str>) -> Result<Result<Loaded, ExitCode>, String> {
    let today = match today {
        Some(t) => time_option(t, "--today")?,
        None => vexil_compiler::today(),
    };
    let (project, conventions) = load_project(dir)?;
    let bundle = match bundle_or_report(&project, "the flags do not compile") {
        Ok(b) => b,
        Err(code) => return Ok(Err(code)),
    };
    let history = History::of(project.paths());
    let entries = vexil_lifecycle::inventory(&bundle, |p| project.source(p), &history, today);
    Ok(Ok(Loaded {
        bundle,
        entries,
        conventions,
        today,
    }))
}

fn print_rows(
    format: ReportFormat,
    (header, rows): (&[&str], Vec<Vec<String>>),
) -> Result<(), String> {
    let text = match format {
        ReportFormat::Table => report::table(header, &rows),
        ReportFormat::Markdown => report::markdown(header, &rows),
        ReportFormat::Csv => report::csv(header, &rows)?,
        // Rows as objects keyed by the header; the reports write their
        // structures instead, with typed fields.
        ReportFormat::Json => {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    header
                        .iter()
                        .zip(row)
                        .map(|(h, c)| (h.to_string(), serde_json::Value::from(c.as_str())))
                        .collect()
                })
                .collect();
            serde_json::to_string_pretty(&objects).map_err(|e| e.to_string())? + "\n"
        }
    };
    print!("{text}");
    Ok(())
}

pub fn inventory(args: &InventoryArgs) -> Result<ExitCode, String> {
    let loaded = match load(&args.dir, args.today.as_deref())? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    if args.format == ReportFormat::Json {
        let json = serde_json::to_string_pretty(&loaded.entries).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print_rows(args.format, report::inventory_rows(&loaded.entries))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit 1 when something is stale, so that CI can fail on it.
pub fn stale(args: &StaleArgs) -> Result<ExitCode, String> {
    let loaded = match load(&args.dir, args.today.as_deref())? {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let usage = match (&args.server, &args.usage, args.unused_days) {
        (Some(server), _, None) => Some(server_usage(server, args.key_file.clone())?),
        (Some(server), _, Some(days)) => Some(server_rollups(server, args.key_file.clone(), days)?),
        (None, Some(file), days) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
            let source = format!("in {}", file.display());
            match (text.trim_start().starts_with('{'), days) {
                (true, Some(days)) => Some(Usage::from_rollups(&text, source, days)?),
                (true, None) => {
                    return Err(format!(
                        "`{}` holds usage rollups (`GET /v1/usage`): say how many days make a flag unused with `--unused-days N`",
                        file.display()
                    ))
                }
                (false, None) => Some(Usage::from_metrics(&text, source)?),
                (false, Some(_)) => {
                    return Err(format!(
                        "`--unused-days` needs the usage rollups (the JSON of `GET /v1/usage`), and `{}` is not JSON: metrics count only since a server started",
                        file.display()
                    ))
                }
            }
        }
        (None, None, Some(_)) => {
            return Err("`--unused-days` needs `--server URL` or `--usage FILE`".to_string())
        }
        (None, None, None) => None,
    };
    if let Some(note) = usage.as_ref().and_then(Usage::too_short) {
        eprintln!("note: {note}");
    }
    let options = StaleOptions {
        today: loaded.today,
        launched_days: args.launched_days,
        conventions: loaded.conventions,
        usage,
    };
    let unreferenced = if args.code.is_empty() {
        None
    } else {
        let found = search(&loaded.bundle, &args.code)?;
        Some(found.unreferenced())
    };
    let found = vexil_lifecycle::stale(
        &loaded.bundle,
        &loaded.entries,
        unreferenced.as_deref(),
        &options,
    );
    if args.format == ReportFormat::Json {
        let json = serde_json::to_string_pretty(&found).map_err(|e| e.to_string())?;
        println!("{json}");
    } else if found.is_empty() {
        if args.format == ReportFormat::Table {
            println!("{}", paint("no stale flags", Style::Ok));
        }
    } else {
        print_rows(args.format, report::stale_rows(&found))?;
        if args.format == ReportFormat::Table {
            let line = format!(
                "{} of {}",
                vexil_words::count(found.len(), "stale flag"),
                loaded.entries.len()
            );
            println!("{}", paint(&line, Style::Error));
        }
    }
    Ok(if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The code's references to the bundle's keys; unreadable files are
/// reported on standard error and skipped.
fn search(bundle: &vexil_ir::Bundle, paths: &[PathBuf]) -> Result<vexil_lifecycle::Refs, String> {
    let keys = vexil_lifecycle::refs::keys(bundle);
    let found = vexil_lifecycle::refs(&keys, paths)?;
    for error in &found.errors {
        eprintln!("{}: {error}", paint("warning", Style::Error));
    }
    Ok(found)
}

/// Exit 1 when code uses a key that no flag declares (it would get the
/// default forever), so that CI can fail on it.
pub fn refs(args: &RefsArgs) -> Result<ExitCode, String> {
    let bundle = match load_bundle(&args.flags)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let found = search(&bundle, &args.paths)?;
    match args.format {
        RefsFormat::Json => {
            let json = serde_json::to_string_pretty(&found).map_err(|e| e.to_string())?;
            println!("{json}");
        }
        RefsFormat::Table => {
            print!("{}", report::refs_text(&found));
            let referenced = found
                .flags
                .iter()
                .filter(|f| f.in_code().next().is_some())
                .count();
            let line = format!(
                "{} of {} referenced in {}",
                referenced,
                vexil_words::count(found.flags.len(), "flag"),
                vexil_words::count(found.files, "file")
            );
            let style = if found.undeclared.is_empty() {
                Style::Ok
            } else {
                Style::Error
            };
            println!("\n{}", paint(&line, style));
        }
    }
    Ok(if found.undeclared.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One side of a diff.
enum Side {
    /// `.flag` sources: a directory, one file, or a git revision's.
    Sources(Vec<vexil_lifecycle::diff::Source>),
    /// A bundle `vexil build` wrote, with its version.
    Bundle(vexil_ir::Bundle),
}

/// One side of a diff: a bundle (a file that is not a `.flag` file), a
/// directory (or one file) of sources, else a git revision of the
/// repository `dir` is in.
fn side(arg: &str, dir: &Path) -> Result<Side, String> {
    let path = Path::new(arg);
    if path.is_file() && path.extension().is_none_or(|e| e != "flag") {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read `{arg}`: {e}"))?;
        let bundle = vexil_ir::Bundle::from_json(&text).map_err(|e| {
            format!("`{arg}` is not a bundle `vexil build` wrote ({e}): give a bundle, a directory of `.flag` files or a git revision")
        })?;
        return Ok(Side::Bundle(bundle.into_inner()));
    }
    if path.exists() {
        return revision::sources_in(path).map(Side::Sources);
    }
    revision::sources_at(dir, arg).map(Side::Sources)
}

/// A side as a bundle: sources are compiled (their errors printed, exit 1).
fn compiled(side: Side, arg: &str) -> Result<Result<vexil_ir::Bundle, ExitCode>, String> {
    let sources = match side {
        Side::Bundle(b) => return Ok(Ok(b)),
        Side::Sources(s) => s,
    };
    let mut project = vexil_compiler::Project::new();
    for (path, text) in sources {
        project.set_source(&path, text);
    }
    let closing = format!("the flags of `{arg}` do not compile");
    Ok(bundle_or_report(&project, &closing).map(vexil_ir::ValidBundle::into_inner))
}

/// Exit 0 whether or not something changed: the diff informs, `vexil check`
/// and `vexil test` decide.
pub fn diff(args: &DiffArgs) -> Result<ExitCode, String> {
    let (old, new) = match (&args.since, &args.old, &args.new) {
        (Some(tag), dir, None) => {
            let dir = dir.as_deref().map_or(args.dir.clone(), PathBuf::from);
            (
                revision::sources_at(&dir, tag)?,
                revision::sources_in(&dir)?,
            )
        }
        (Some(_), _, Some(_)) => {
            return Err("`--since TAG` takes one directory, the new side".into());
        }
        (None, Some(range), None) if range.contains("..") && !Path::new(range).exists() => {
            let (a, b) = range.split_once("..").unwrap_or((range, ""));
            let b = if b.is_empty() { "HEAD" } else { b };
            (
                revision::sources_at(&args.dir, a)?,
                revision::sources_at(&args.dir, b)?,
            )
        }
        (None, Some(old_arg), new_arg) => {
            let new = match new_arg {
                Some(n) => side(n, &args.dir)?,
                None => Side::Sources(revision::sources_in(&args.dir)?),
            };
            let old = side(old_arg, &args.dir)?;
            match (old, new) {
                (Side::Sources(o), Side::Sources(n)) => (o, n),
                (old, new) => {
                    let new_name = new_arg.as_deref().unwrap_or(".");
                    return diff_bundles(args.format, (old, old_arg), (new, new_name));
                }
            }
        }
        (None, None, _) => return Err("give OLD (and NEW), `REV1..REV2` or `--since TAG`".into()),
    };
    let changes = vexil_lifecycle::diff(&old, &new);
    let text = match (args.format, args.since.is_some()) {
        (DiffFormat::Json, _) => {
            serde_json::to_string_pretty(&changes).map_err(|e| e.to_string())? + "\n"
        }
        (_, true) => report::release_notes(&changes),
        (DiffFormat::Markdown, false) => report::diff_markdown(&changes),
        (DiffFormat::Text, false) => report::diff_text(&changes),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// A diff where one side at least is a bundle: the other is compiled, both
/// are compared as bundles, and the output says each side's version and
/// what a bundle does not hold.
fn diff_bundles(
    format: DiffFormat,
    (old, old_arg): (Side, &str),
    (new, new_arg): (Side, &str),
) -> Result<ExitCode, String> {
    let version = |s: &Side| match s {
        Side::Bundle(b) => Some(vexil_lifecycle::compiled::version(b)),
        Side::Sources(_) => None,
    };
    let (old_version, new_version) = (version(&old), version(&new));
    let old = match compiled(old, old_arg)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let new = match compiled(new, new_arg)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let changes = vexil_lifecycle::diff_bundles(&old, &new);
    let text = match format {
        DiffFormat::Json => {
            let json = serde_json::json!({
                "old_version": old_version,
                "new_version": new_version,
                "note": vexil_lifecycle::compiled::LIMITS,
                "changes": changes,
            });
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n"
        }
        DiffFormat::Markdown => {
            report::bundle_header(old_version.as_deref(), new_version.as_deref(), true)
                + &report::diff_markdown(&changes)
        }
        DiffFormat::Text => {
            report::bundle_header(old_version.as_deref(), new_version.as_deref(), false)
                + &report::diff_text(&changes)
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Exit 1 when the result would not compile (nothing is written then).
pub fn cleanup(args: &CleanupArgs) -> Result<ExitCode, String> {
    let bundle = match load_bundle(&args.dir)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let sources = revision::sources_in(&args.dir)?;
    let path_of = |name: &str| {
        if args.dir.is_file() {
            args.dir.clone()
        } else {
            args.dir.join(name)
        }
    };
    let passing = |sources: &[(String, String)]| passing_tests(sources, &path_of);
    let done = vexil_lifecycle::cleanup(&sources, &bundle, &args.flag, &args.keep, &passing)?;
    // The result must compile before anything is written.
    let mut after = vexil_compiler::Project::new();
    for (name, text) in &sources {
        let new = done.files.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let path = path_of(name).to_string_lossy().into_owned();
        after.set_source(&path, new.unwrap_or(text).clone());
    }
    if let Err(diagnostics) = after.bundle(true) {
        eprint!(
            "{}",
            after.render(&diagnostics, crate::output::color_enabled())
        );
        eprintln!(
            "{}",
            paint(
                &format!(
                    "removing `{}` leaves flags that do not compile: nothing written",
                    args.flag
                ),
                Style::Error
            )
        );
        return Ok(ExitCode::from(1));
    }
    for (name, text) in &done.files {
        let path = path_of(name);
        if args.dry_run {
            println!("would write {}", path.display());
        } else {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    for note in &done.notes {
        println!("  {note}");
    }
    if args.code.is_empty() {
        println!(
            "the code may still read `{}`: `vexil refs --flags {} PATHS` finds where (each should become `{}`)",
            args.flag,
            args.dir.display(),
            done.kept
        );
    } else {
        let found = search(&bundle, &args.code)?;
        let places: Vec<&vexil_lifecycle::refs::Reference> = found
            .flags
            .iter()
            .filter(|f| f.name == args.flag)
            .flat_map(|f| f.references.iter())
            .collect();
        if places.is_empty() {
            println!("no code refers to `{}`", args.flag);
        } else {
            println!(
                "code left to change (each read of `{}` becomes `{}`):",
                args.flag, done.kept
            );
            for r in places {
                let comment = if r.how == vexil_lifecycle::refs::How::Comment {
                    " (a comment)"
                } else {
                    ""
                };
                println!(
                    "  {}:{}:{}{comment}  {}",
                    r.place.file, r.place.line, r.place.column, r.place.context
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The names of the `test` blocks of `sources` that pass, run as `vexil
/// test` runs them (the interpreter, now as the default time).
fn passing_tests(
    sources: &[(String, String)],
    path_of: &dyn Fn(&str) -> PathBuf,
) -> Result<std::collections::BTreeSet<String>, String> {
    let mut project = vexil_compiler::Project::new();
    for (name, text) in sources {
        project.set_source(&path_of(name).to_string_lossy(), text.clone());
    }
    let bundle = project.bundle(true).map_err(|diagnostics| {
        format!(
            "they do not compile:\n{}",
            project.render(&diagnostics, false)
        )
    })?;
    let tests = bundle.tests.clone();
    let snapshot =
        vexil_runtime::Snapshot::new(bundle, vexil_runtime::BackendChoice::Interpreter, None, 1)
            .map_err(|e| e.to_string())?;
    Ok(
        vexil_runtime::testing::run_tests(&snapshot, &tests, vexil_runtime::now())
            .into_iter()
            .filter(|r| r.passed())
            .map(|r| r.name)
            .collect(),
    )
}

/// The evaluations a running server counted since it started.
fn server_usage(server: &str, key_file: Option<PathBuf>) -> Result<Usage, String> {
    let (base, text) = server_get(server, key_file, "/metrics", "a server or admin key")?;
    Usage::from_metrics(&text, format!("on {base} since it started"))
}

/// The usage rollups a running server's store holds for the last `days`
/// days (`GET /v1/usage`).
fn server_rollups(server: &str, key_file: Option<PathBuf>, days: i64) -> Result<Usage, String> {
    let path = format!("/v1/usage?hours={}", days * 24);
    let (base, text) = server_get(server, key_file, &path, "a viewer or admin key")?;
    Usage::from_rollups(&text, format!("on {base}"), days)
}

/// `GET path` on a running server with the caller's key: its base URL and
/// the answer's text, or what went wrong (naming the key it needs).
fn server_get(
    server: &str,
    key_file: Option<PathBuf>,
    path: &str,
    needs: &str,
) -> Result<(String, String), String> {
    let remote = Remote::new(&ServerArgs {
        server: server.to_string(),
        key_file,
    })?;
    let res = remote.send(remote.http.get(format!("{}{path}", remote.base)))?;
    let status = res.status();
    let text = res
        .text()
        .map_err(|e| format!("cannot read {path} of {}: {e}", remote.base))?;
    if !status.is_success() {
        return Err(format!(
            "{} answered {status} for {path} ({needs} is needed: `VEXIL_KEY` or `--key-file`): {}",
            remote.base,
            text.trim()
        ));
    }
    Ok((remote.base.clone(), text))
}

pub fn schedule(args: &ScheduleArgs) -> Result<ExitCode, String> {
    let since = match &args.since {
        Some(t) => Some(time_option(t, "--since")?),
        None => None,
    };
    let bundle = match load_bundle(&args.dir)? {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let mut changes = vexil_lifecycle::schedule(&bundle);
    if let Some(since) = since {
        changes.retain(|c| c.at >= since);
    }
    if args.ics {
        print!(
            "{}",
            vexil_lifecycle::schedule::ics(&changes, vexil_ir::value::now_micros())
        );
    } else if args.format == ReportFormat::Json {
        let json = serde_json::to_string_pretty(&changes).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print_rows(args.format, vexil_lifecycle::schedule::rows(&changes))?;
    }
    Ok(ExitCode::SUCCESS)
}

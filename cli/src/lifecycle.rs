//! `vexil inventory` and `vexil stale`: arguments in, reports out. The work
//! is in `vexil-lifecycle`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use vexil_lifecycle::{report, History, StaleOptions};

use crate::commands::{load_project, time_option};
use crate::output::{paint, Style};

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
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    launched_days: i64,
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
    let bundle = match project.bundle(false) {
        Ok(b) => b,
        Err(diagnostics) => {
            eprint!(
                "{}",
                project.render(&diagnostics, crate::output::color_enabled())
            );
            eprintln!(
                "{}",
                paint(
                    "the flags do not compile: fix the errors above",
                    Style::Error
                )
            );
            return Ok(Err(ExitCode::from(1)));
        }
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
    let options = StaleOptions {
        today: loaded.today,
        launched_days: args.launched_days,
        conventions: loaded.conventions,
    };
    let found = vexil_lifecycle::stale(&loaded.bundle, &loaded.entries, None, &options);
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

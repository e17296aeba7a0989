//! `vexil`: check, format, build, evaluate and test flag repositories.

mod analytics;
mod codegen;
mod commands;
mod keys;
mod lifecycle;
mod output;
mod remote;
mod rollout;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "vexil",
    version,
    about = "Feature flags and experiments as typed, tested, compiled code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a flag repository: every rule against the schemas.
    ///
    /// Exits with status 1 when there are errors (warnings alone pass).
    Check {
        /// A directory of `.flag` files, or one file.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The date expiry warnings are relative to, like 2026-12-01, or an
        /// RFC 3339 timestamp (default: today, UTC).
        #[arg(long, value_name = "DATE")]
        today: Option<String>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Also list the flags overridden on this server (drift from git),
        /// like http://127.0.0.1:8080 (key from `VEXIL_KEY` or `--key-file`).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// With `--server`: a file whose first line is the API key.
        #[arg(long, value_name = "FILE", requires = "server")]
        key_file: Option<PathBuf>,
    },
    /// Format `.flag` files in the one canonical layout.
    Fmt {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Do not write: exit with status 1 if any file would change.
        #[arg(long)]
        check: bool,
    },
    /// Compile a repository into a bundle the runtime loads.
    Build {
        /// A directory of `.flag` files, or one file.
        dir: PathBuf,
        /// Where to write the bundle (JSON).
        #[arg(short, long, value_name = "FILE.json")]
        output: PathBuf,
        /// Include the `test` blocks in the bundle, for `vexil test BUNDLE`.
        #[arg(long)]
        with_tests: bool,
    },
    /// Evaluate a flag (or every flag) for a context; prints the details as JSON.
    Eval {
        /// A directory of `.flag` files, or a bundle built by `vexil build`.
        dir: PathBuf,
        /// The flag or experiment to evaluate.
        #[arg(required_unless_present = "all")]
        flag: Option<String>,
        /// Evaluate every flag and experiment: the flags, then the
        /// experiments, each by name, except that the flags a flag
        /// `requires` come just before it.
        #[arg(long, conflicts_with = "flag")]
        all: bool,
        /// Add the path the flag's evaluation took (`explanation`): each
        /// step in order (switch, prerequisites, rules, default), which
        /// one decided, and why each earlier rule did not match (the
        /// failing comparison with the context's value).
        #[arg(long, conflicts_with = "all")]
        explain: bool,
        /// A JSON file: `{"user": {"id": "u1", ...}, "env": {...}}`; `-` reads standard input.
        /// Names the schema does not declare are ignored, with a warning on
        /// standard error and in the output's `warnings` array.
        #[arg(long, value_name = "FILE.json")]
        context: Option<PathBuf>,
        /// The evaluation time: an RFC 3339 timestamp like
        /// 2026-12-01T09:00:00Z, or a date (midnight UTC), in the years 0000
        /// to 9999 (default: now).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Run the `test` blocks, in the order they are written (files by path).
    ///
    /// Exits with status 1 when a test fails or the flags do not compile.
    Test {
        /// A directory of `.flag` files, one file, or a bundle built by
        /// `vexil build --with-tests`.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// `text` for people, `json` for tools.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Run only the tests whose name contains PATTERN (case-sensitive).
        #[arg(long, value_name = "PATTERN")]
        name: Option<String>,
    },
    /// Generate typed accessors for the flags: TypeScript hooks for React
    /// (client flags only) or Rust over `vexil-runtime`.
    ///
    /// With `--check`, write nothing: exit 1 when OUT differs from what
    /// would be generated (for CI).
    Codegen {
        /// A directory of `.flag` files, or one file.
        dir: PathBuf,
        #[arg(long, value_enum)]
        lang: codegen::CodegenLang,
        /// The file to write (`src/flags.ts`, `src/flags.rs`).
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Compare OUT with the generated code instead of writing it.
        #[arg(long)]
        check: bool,
    },
    /// Explain a diagnostic code, like `vexil explain E0102`, or a
    /// statistics code that `vexil stats` prints, like `S0003`.
    Explain {
        /// A code: `E0xxx` or `W0xxx` from `vexil check`, `S000x` from
        /// `vexil stats` and `vexil analyze`.
        code: String,
    },
    /// Run the language server on standard input and output (for editors).
    Lsp,
    /// Serve flags over HTTP to OpenFeature clients (OFREP), following their changes.
    ///
    /// Without API keys (`[[keys]]` in the config file, or `VEXIL_KEYS`), the
    /// server runs in development mode and listens only on loopback.
    Serve(ServeArgs),
    /// Override flags on a running server (a kill switch in seconds), lift and list overrides.
    #[command(subcommand)]
    Override(remote::OverrideCommand),
    /// Read a server's audit log: who changed what, when, why, from where.
    Audit(remote::AuditArgs),
    /// Guarded staged rollouts on a server: their status, and resuming or
    /// abandoning one the monitor stopped.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
    /// Create, list and revoke a server's API keys at run time (admin key).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Analyse per-variant sufficient statistics (JSON) and print the results.
    #[command(long_about = analytics::STATS_HELP)]
    Stats(analytics::StatsArgs),
    /// Units per variant and days needed, from flags or an experiment's `planning`.
    Plan(analytics::PlanArgs),
    /// Load exposures and metric events (JSON Lines) into an event store.
    Ingest(analytics::IngestArgs),
    /// Analyse an experiment over the events in a store: table, JSON or HTML.
    ///
    /// With `--sql`, print instead the metric query that defines what the
    /// store computes, for a warehouse whose sums then go to `vexil stats`.
    ///
    /// Exit status: 0 when the results can be read; 1 when the data cannot
    /// support a decision (nothing to analyse because no unit of a declared
    /// variant is in the store, a variant with fewer than 2 units, a sample
    /// ratio mismatch, a primary metric that could not be analysed) or the
    /// flags do not compile; 2 for an unusable invocation (no store at the
    /// path, an unknown experiment).
    Analyze(analytics::AnalyzeArgs),
    /// Write simulated exposures and metric events with a known true effect.
    Simulate(analytics::SimulateArgs),
    /// Every flag and experiment: kind, type, owner, tags, expiry, status,
    /// place, and when it was added and last changed (from git).
    Inventory(lifecycle::InventoryArgs),
    /// Flags to clean up, with the evidence and what to keep: past their
    /// expiry, serving one value to everyone, experiments ended, past their
    /// kind's lifetime (`vexil.toml`).
    ///
    /// Exits with status 1 when any flag is stale.
    Stale(lifecycle::StaleArgs),
    /// Every use of each flag key in application code (TypeScript,
    /// JavaScript, Python, Go, Java, Rust): literals, the accessors
    /// `vexil codegen` generates, keys in comments, keys built at run time,
    /// and keys no flag declares.
    ///
    /// Exits with status 1 when code uses a key that no flag declares.
    Refs(lifecycle::RefsArgs),
    /// What a change does to the flags: items added, removed and renamed,
    /// properties (default, owner, variants, allocation...), rules added,
    /// removed, changed or reordered, context fields and who reads them.
    ///
    /// `vexil diff main HEAD`, `vexil diff v1.2..v1.3`, `vexil diff OLD_DIR
    /// NEW_DIR`; `vexil diff --since v1.2` for release notes by owner.
    Diff(lifecycle::DiffArgs),
    /// Remove a flag from the sources, keeping one value: its declaration,
    /// prerequisites on it resolved, tests that only test it; files written
    /// in canonical format, and the code references left to change listed.
    Cleanup(lifecycle::CleanupArgs),
    /// Every time-based change the flags declare, in time order: rules
    /// starting and ending (`from`, `until`), each stage of a staged
    /// rollout, experiments' start and end, expiries. As a table, JSON, or
    /// an iCalendar file (`--ics`) to subscribe to.
    Schedule(lifecycle::ScheduleArgs),
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// A directory of `.flag` files, a bundle built by `vexil build`, or a
    /// bundle URL (`https://...`, polled) (default: the config file's `source`).
    source: Option<PathBuf>,
    /// The address to listen on (default: the config file's `listen`, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// A TOML configuration file (keys, limits, CORS, context mapping).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    log_format: Format,
    /// Where the server keeps what it writes: overrides and the audit log
    /// (`vexil.db`), a URL source's cache, the event store (default: the
    /// config file's `data_dir`, else `.vexil` beside the config file, else
    /// in the working directory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The override store: a `postgres://` URL shared by a fleet, or a
    /// SQLite file (default: the config file's `store`, else `vexil.db` in
    /// the data directory).
    #[arg(long, value_name = "URL|FILE")]
    store: Option<String>,
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            dir,
            format,
            today,
            deny_warnings,
            server,
            key_file,
        } => commands::check(&dir, format, today.as_deref(), deny_warnings).and_then(|code| {
            match server {
                Some(server) => {
                    remote::drift(&remote::ServerArgs { server, key_file }).map(|_| code)
                }
                None => Ok(code),
            }
        }),
        Command::Fmt { dir, check } => commands::fmt(&dir, check),
        Command::Build {
            dir,
            output,
            with_tests,
        } => commands::build(&dir, &output, with_tests),
        Command::Eval {
            dir,
            flag,
            all,
            explain,
            context,
            now,
        } => commands::eval(
            &dir,
            flag.as_deref(),
            all,
            explain,
            context.as_deref(),
            now.as_deref(),
        ),
        Command::Test { dir, format, name } => commands::test(&dir, format, name.as_deref()),
        Command::Codegen {
            dir,
            lang,
            output,
            check,
        } => codegen::codegen(&dir, lang, &output, check),
        Command::Explain { code } => commands::explain(&code),
        Command::Lsp => vexil_lsp::run_stdio().map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::serve(args),
        Command::Override(command) => remote::override_command(command),
        Command::Audit(args) => remote::audit(args),
        Command::Rollout(command) => rollout::rollout_command(command),
        Command::Key(command) => keys::key_command(command),
        Command::Stats(args) => analytics::stats(&args),
        Command::Plan(args) => analytics::plan(&args),
        Command::Ingest(args) => analytics::ingest(&args),
        Command::Analyze(args) => analytics::analyze(&args),
        Command::Simulate(args) => analytics::simulate(&args),
        Command::Inventory(args) => lifecycle::inventory(&args),
        Command::Stale(args) => lifecycle::stale(&args),
        Command::Refs(args) => lifecycle::refs(&args),
        Command::Diff(args) => lifecycle::diff(&args),
        Command::Cleanup(args) => lifecycle::cleanup(&args),
        Command::Schedule(args) => lifecycle::schedule(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!(
                "{}: {message}",
                output::paint("error", output::Style::Error)
            );
            ExitCode::from(2)
        }
    }
}

/// Die quietly when the reader of our output goes away (`vexil check | head`),
/// like other Unix tools. Rust ignores SIGPIPE by default, which turns a
/// closed pipe into a panic inside `println!`.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists;
    // resetting a signal to its default action has no other precondition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}

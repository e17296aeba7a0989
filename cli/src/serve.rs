//! `vexil serve`: the command line around `vexil-server`.

use std::process::ExitCode;

use vexil_server::{Config, LogFormat, ServeError};

use crate::{Format, ServeArgs};

pub fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    vexil_server::init_logging(match args.log_format {
        Format::Text => LogFormat::Text,
        Format::Json => LogFormat::Json,
    });
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Ok(keys) = std::env::var("VEXIL_KEYS") {
        config.add_env_keys(&keys)?;
    }
    if let Some(source) = args.source {
        config.source = Some(source);
    }
    // One data directory holds everything the server writes: `--data-dir`,
    // else the file's `data_dir` (relative to the file), else `.vexil` beside
    // the config file, else in the working directory.
    let base = match args.config.as_deref().and_then(std::path::Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let data_dir = args
        .data_dir
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| base.join(".vexil"));
    config.default_paths(&data_dir);
    config.data_dir = Some(data_dir);
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(store) = args.store {
        config.store = Some(store);
    }
    match vexil_server::run(config) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // Flags that do not load are the flags' fault (status 1), as in
        // `vexil check`; everything else is the invocation's (status 2).
        Err(ServeError::Flags(e)) => {
            eprintln!("{e}");
            eprintln!(
                "{}: the flags cannot be served: fix the errors above",
                crate::output::paint("error", crate::output::Style::Error)
            );
            Ok(ExitCode::from(1))
        }
        Err(ServeError::Config(e)) => Err(e),
    }
}

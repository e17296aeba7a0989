//! `vexil codegen`: the generated accessors written, or compared with what
//! is on disk (`--check`, for CI). The generators are in `vexil-codegen`.

use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;
use vexil_codegen::{generate, Lang};

use crate::commands::load_bundle;
use crate::output::{paint, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CodegenLang {
    /// TypeScript hooks for React (`@vexil/react`), client flags only.
    Ts,
    /// Rust accessors over `vexil-runtime`, every flag.
    Rust,
}

pub fn codegen(
    dir: &Path,
    lang: CodegenLang,
    output: &Path,
    check: bool,
) -> Result<ExitCode, String> {
    let bundle = match load_bundle(dir)? {
        Ok(bundle) => bundle,
        Err(code) => return Ok(code),
    };
    let lang = match lang {
        CodegenLang::Ts => Lang::TypeScript,
        CodegenLang::Rust => Lang::Rust,
    };
    let text = generate(&bundle, lang);
    if check {
        let current = match std::fs::read(output) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read `{}`: {e}", output.display())),
        };
        return Ok(if current.as_deref() == Some(text.as_bytes()) {
            println!("{} is up to date", output.display());
            ExitCode::SUCCESS
        } else {
            let what = if current.is_some() {
                "is out of date"
            } else {
                "does not exist"
            };
            println!(
                "{}\n  help: run `vexil codegen --lang {} {} -o {}`",
                paint(&format!("`{}` {what}", output.display()), Style::Error),
                match lang {
                    Lang::TypeScript => "ts",
                    Lang::Rust => "rust",
                },
                dir.display(),
                output.display()
            );
            ExitCode::from(1)
        });
    }
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    std::fs::write(output, &text)
        .map_err(|e| format!("cannot write `{}`: {e}", output.display()))?;
    println!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

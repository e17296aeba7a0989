//! `vexil key create|list|revoke`: API keys made and revoked at run time on
//! a `vexil serve` (`/v1/keys`, admin keys only). A new key's token is
//! printed once, alone on standard output, so that it can go straight into
//! a file or a secret store; the server keeps only its hash.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::remote::{Remote, ServerArgs};
use crate::Format;

#[derive(clap::Subcommand)]
pub enum KeyCommand {
    /// Create a key; its token is printed once, on standard output.
    Create {
        /// Its name: the actor of what it does, in logs and the audit log.
        name: String,
        /// What it may do.
        #[arg(long, value_parser = ["client", "server", "admin"])]
        scope: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// `json` prints the whole answer (the token included).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every key: created at run time (revoked ones marked) and configured.
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Revoke a key created at run time, by its id (`key_…`).
    Revoke {
        id: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn key_command(command: KeyCommand) -> Result<ExitCode, String> {
    match command {
        KeyCommand::Create {
            name,
            scope,
            reason,
            server,
            format,
        } => {
            let remote = Remote::new(&server)?;
            let res = remote.send(
                remote
                    .http
                    .post(format!("{}/v1/keys", remote.base))
                    .json(&json!({ "name": name, "scope": scope, "reason": reason })),
            )?;
            let (_, body) = remote.json(res)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                ),
                Format::Text => {
                    eprintln!(
                        "created {} key `{}` ({}); its token follows, shown this once",
                        text(&body["scope"]),
                        text(&body["name"]),
                        text(&body["id"]),
                    );
                    println!("{}", text(&body["token"]));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeyCommand::List { server, format } => {
            let remote = Remote::new(&server)?;
            let res = remote.send(remote.http.get(format!("{}/v1/keys", remote.base)))?;
            let (_, body) = remote.json(res)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                ),
                Format::Text => print_keys(&body),
            }
            Ok(ExitCode::SUCCESS)
        }
        KeyCommand::Revoke { id, reason, server } => {
            let remote = Remote::new(&server)?;
            let res = remote.send(
                remote
                    .http
                    .delete(format!("{}/v1/keys/{id}", remote.base))
                    .json(&json!({ "reason": reason })),
            )?;
            let (_, body) = remote.json(res)?;
            println!(
                "revoked key `{}` ({})",
                text(&body["key"]["name"]),
                text(&body["key"]["id"])
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn print_keys(body: &Value) {
    let keys = body["keys"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let configured = body["configured"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if keys.is_empty() && configured.is_empty() {
        println!("no keys");
    }
    for k in keys {
        let revoked = match k["revoked_at"].as_str() {
            Some(at) => format!(", revoked {at} by {}", text(&k["revoked_by"])),
            None => String::new(),
        };
        println!(
            "{}  {}  {}  created {} by {}{revoked}",
            text(&k["id"]),
            text(&k["name"]),
            text(&k["scope"]),
            text(&k["created_at"]),
            text(&k["created_by"]),
        );
    }
    for k in configured {
        println!("(configured)  {}  {}", text(&k["name"]), text(&k["scope"]));
    }
}

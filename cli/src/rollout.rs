//! `vexil rollout status|resume|abandon`: guarded staged rollouts on a
//! `vexil serve` (`GET /v1/rollouts`), and a person's answer to the
//! monitor: resume (lift its override) or abandon (pin the rule at 0%),
//! each an override write, audited with the reason given.

use std::process::ExitCode;

use reqwest::header::IF_MATCH;
use serde_json::{json, Value};

use crate::remote::{Remote, ServerArgs};
use crate::Format;

#[derive(clap::Subcommand)]
pub enum RolloutCommand {
    /// Where each guarded rollout stands: its stage, when the next one
    /// starts, each guardrail's effect and interval so far, any action.
    Status {
        /// Only this flag's rollout.
        flag: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Go on after the monitor paused or rolled back: lift its override
    /// (the stages follow the clock again; this server does not act on the
    /// same stage twice).
    Resume {
        flag: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Stop the rollout for good: pin its rule at 0% (then remove the stages
    /// from git).
    Abandon {
        flag: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn rollout_command(command: RolloutCommand) -> Result<ExitCode, String> {
    match command {
        RolloutCommand::Status {
            flag,
            server,
            format,
        } => {
            let remote = Remote::new(&server)?;
            let mut body = rollouts(&remote)?;
            if let (Some(flag), Some(all)) = (&flag, body["rollouts"].as_array_mut()) {
                all.retain(|r| r["flag"] == flag.as_str());
                if all.is_empty() {
                    return Err(format!(
                        "`{flag}` has no guarded rollout on {}",
                        remote.base
                    ));
                }
            }
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                ),
                Format::Text => print_status(&body),
            }
            Ok(ExitCode::SUCCESS)
        }
        RolloutCommand::Resume {
            flag,
            reason,
            server,
        } => {
            let remote = Remote::new(&server)?;
            let body = rollouts(&remote)?;
            guarded_rule(&body, &flag, &remote)?;
            let (etag, _) = remote.overrides()?;
            let res = remote.send(
                remote
                    .http
                    .delete(format!("{}/v1/overrides/{flag}", remote.base))
                    .header(IF_MATCH, etag)
                    .json(&json!({ "reason": format!("rollout resumed: {reason}") })),
            )?;
            remote.json(res)?;
            println!("resumed the rollout of `{flag}`: its stages follow the clock again");
            Ok(ExitCode::SUCCESS)
        }
        RolloutCommand::Abandon {
            flag,
            reason,
            server,
        } => {
            let remote = Remote::new(&server)?;
            let body = rollouts(&remote)?;
            let rule = guarded_rule(&body, &flag, &remote)?;
            let (etag, _) = remote.overrides()?;
            let res = remote.send(
                remote
                    .http
                    .put(format!("{}/v1/overrides/{flag}", remote.base))
                    .header(IF_MATCH, etag)
                    .json(&json!({
                        "action": { "kind": "rollout", "rule": rule, "percent": 0 },
                        "reason": format!("rollout abandoned: {reason}"),
                    })),
            )?;
            remote.json(res)?;
            println!("abandoned the rollout of `{flag}`: rule `{rule}` is pinned at 0%");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The rule of `flag`'s guarded rollout in `GET /v1/rollouts`'s answer.
fn guarded_rule(body: &Value, flag: &str, remote: &Remote) -> Result<String, String> {
    body["rollouts"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["flag"] == flag))
        .and_then(|r| r["rule"].as_str().map(str::to_string))
        .ok_or_else(|| format!("`{flag}` has no guarded rollout on {}", remote.base))
}

fn rollouts(remote: &Remote) -> Result<Value, String> {
    let res = remote.send(remote.http.get(format!("{}/v1/rollouts", remote.base)))?;
    Ok(remote.json(res)?.1)
}

fn print_status(body: &Value) {
    let all = body["rollouts"].as_array().cloned().unwrap_or_default();
    if all.is_empty() {
        println!("no guarded rollouts");
        return;
    }
    for r in &all {
        let next = r["next_stage_at"]
            .as_str()
            .map(|t| format!(", next stage at {t}"))
            .unwrap_or_default();
        println!(
            "{} (rule {}): {}, stage {} of {} ({}){next}",
            r["flag"].as_str().unwrap_or("?"),
            r["rule"].as_str().unwrap_or("?"),
            r["state"].as_str().unwrap_or("?"),
            r["stage"],
            r["stages"],
            r["percent"].as_str().unwrap_or("?"),
        );
        if let Some(o) = r["action"].as_object() {
            println!(
                "    action: by {}: {}",
                o.get("actor").and_then(Value::as_str).unwrap_or("?"),
                o.get("reason").and_then(Value::as_str).unwrap_or("")
            );
        }
        let check = &r["check"];
        if check.is_object() {
            println!(
                "    {} new vs {} old units{}",
                check["units_new"],
                check["units_old"],
                match check["srm"]["flagged"].as_bool() {
                    Some(true) => " (SAMPLE RATIO MISMATCH)",
                    _ => "",
                }
            );
            for g in check["guards"].as_array().cloned().unwrap_or_default() {
                let estimate = match g["relative"].as_object() {
                    Some(e) => format!(
                        "{:+.1}% [{:+.1}%, {:+.1}%], p(harm) = {:.3}",
                        e.get("point").and_then(Value::as_f64).unwrap_or(0.0) * 100.0,
                        e.get("ci_lower").and_then(Value::as_f64).unwrap_or(0.0) * 100.0,
                        e.get("ci_upper").and_then(Value::as_f64).unwrap_or(0.0) * 100.0,
                        g["p_harm"].as_f64().unwrap_or(1.0),
                    ),
                    None => "no estimate yet".to_string(),
                };
                println!(
                    "    guard {}: {} (sized to catch: {} by {:.1}%; {estimate})",
                    g["name"].as_str().unwrap_or("?"),
                    g["state"].as_str().unwrap_or("?"),
                    g["harmful"].as_str().unwrap_or("?"),
                    g["threshold"].as_f64().unwrap_or(0.0) * 100.0,
                );
            }
        }
        if let Some(e) = r["error"].as_str() {
            println!("    {e}");
        }
    }
}

//! `vexil override` and `vexil audit`: the write API of a `vexil serve`
//! (`/v1/overrides`, `/v1/audit`) from the command line, and the drift
//! `vexil check --server` reports. The key comes from `VEXIL_KEY` or
//! `--key-file`, never from the command line (where `ps` would show it);
//! send it over HTTPS to anything but a loopback address.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{ETAG, IF_MATCH};
use serde_json::{json, Value};

use crate::Format;

/// Where the server is, and the key to show it.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// The server's URL, like http://127.0.0.1:8080 (or `VEXIL_SERVER`).
    #[arg(long, env = "VEXIL_SERVER", value_name = "URL")]
    pub server: String,
    /// A file whose first line is the API key (default: `VEXIL_KEY`).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum OverrideCommand {
    /// Override a flag or experiment now, until lifted or expired.
    Set(SetArgs),
    /// Lift a flag's override: it is served as compiled from git again.
    Lift {
        flag: String,
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Every override on the server: by whom, why, since when.
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["off", "value", "variant", "rule", "stop_enrolment"])))]
pub struct SetArgs {
    /// The flag or experiment.
    flag: String,
    /// Switch it off: it serves its default, reason DISABLED.
    #[arg(long)]
    off: bool,
    /// Serve this value to everyone (JSON, or else a string).
    #[arg(long, value_name = "V")]
    value: Option<String>,
    /// Serve this variant to everyone.
    #[arg(long, value_name = "NAME")]
    variant: Option<String>,
    /// Pin this rollout rule's percentage (with `--percent`).
    #[arg(long, value_name = "R", requires = "percent")]
    rule: Option<String>,
    /// The percentage for `--rule`, 0 to 100.
    #[arg(long, value_name = "N", requires = "rule")]
    percent: Option<f64>,
    /// Stop an experiment's enrolment: the control for everyone, no exposures.
    #[arg(long)]
    stop_enrolment: bool,
    /// Why: required, recorded in the audit log and shown in evaluation details.
    #[arg(long)]
    reason: String,
    /// When it lifts itself: an RFC 3339 time, or a duration from now like `2h` or `30m`.
    #[arg(long, value_name = "TIME")]
    expires: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// `vexil audit`'s arguments.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Entries about this flag.
    #[arg(long)]
    flag: Option<String>,
    /// Entries by this actor (an API key's name, or `system`).
    #[arg(long)]
    actor: Option<String>,
    /// From this time: RFC 3339, or a duration ago like `24h`.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Before this time: RFC 3339, or a duration ago.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// `text` (default), `json`, or `jsonl` (JSON Lines, one entry a line).
    #[arg(long, default_value = "text")]
    format: String,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) struct Remote {
    pub(crate) http: Client,
    pub(crate) base: String,
    key: String,
}

impl Remote {
    pub(crate) fn new(args: &ServerArgs) -> Result<Remote, String> {
        let key = match &args.key_file {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the key file `{}`: {e}", path.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            None => std::env::var("VEXIL_KEY").unwrap_or_default(),
        };
        let base = args.server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("`{base}` is not an http:// or https:// URL"));
        }
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Remote { http, base, key })
    }

    pub(crate) fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<Response, String> {
        let req = if self.key.is_empty() {
            req
        } else {
            req.header("x-api-key", &self.key)
        };
        req.send()
            .map_err(|e| format!("cannot reach the server at {}: {e}", self.base))
    }

    /// The body of a successful answer, or the server's error in words.
    pub(crate) fn json(&self, res: Response) -> Result<(Option<String>, Value), String> {
        let status = res.status();
        let etag = res
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res
            .text()
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok((etag, body));
        }
        let details = body["errorDetails"].as_str().unwrap_or("").to_string();
        let hint = match status.as_u16() {
            401 => " (set `VEXIL_KEY` or `--key-file`)",
            403 => " (this needs an `admin` key)",
            412 => " (someone else changed the overrides meanwhile: list them and try again)",
            503 => " (the server keeps serving the last known flags; retry shortly)",
            _ => "",
        };
        Err(format!("the server refused ({status}): {details}{hint}"))
    }

    pub(crate) fn overrides(&self) -> Result<(String, Value), String> {
        let res = self.send(self.http.get(format!("{}/v1/overrides", self.base)))?;
        let (etag, body) = self.json(res)?;
        Ok((etag.unwrap_or_else(|| "*".to_string()), body))
    }
}

/// A time argument: RFC 3339, or a duration (`2h`, `30m`, `1d`) from now,
/// forward (`ahead`) or back.
fn time_arg(text: &str, ahead: bool) -> Result<String, String> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.to_string());
    }
    let span: jiff::SignedDuration = text.parse().map_err(|_| {
        format!(
            "`{text}` is neither an RFC 3339 time (2026-12-07T18:00:00Z) nor a duration (2h, 30m)"
        )
    })?;
    let now = jiff::Timestamp::now();
    let at = if ahead {
        now.checked_add(span)
    } else {
        now.checked_sub(span)
    }
    .map_err(|e| format!("`{text}`: {e}"))?;
    Ok(at.to_string())
}

pub fn override_command(command: OverrideCommand) -> Result<ExitCode, String> {
    match command {
        OverrideCommand::Set(args) => set(args),
        OverrideCommand::Lift {
            flag,
            reason,
            server,
        } => {
            let remote = Remote::new(&server)?;
            let (etag, _) = remote.overrides()?;
            let body = json!({ "reason": reason });
            let res = remote.send(
                remote
                    .http
                    .delete(format!("{}/v1/overrides/{flag}", remote.base))
                    .header(IF_MATCH, etag)
                    .json(&body),
            )?;
            remote.json(res)?;
            println!("lifted the override of `{flag}`");
            Ok(ExitCode::SUCCESS)
        }
        OverrideCommand::List { server, format } => {
            let remote = Remote::new(&server)?;
            let (_, body) = remote.overrides()?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                ),
                Format::Text => print_overrides(&body),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn set(args: SetArgs) -> Result<ExitCode, String> {
    let action = if args.off {
        json!({ "kind": "off" })
    } else if let Some(v) = &args.value {
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.clone()));
        json!({ "kind": "value", "value": value })
    } else if let Some(variant) = &args.variant {
        json!({ "kind": "variant", "variant": variant })
    } else if let (Some(rule), Some(percent)) = (&args.rule, args.percent) {
        json!({ "kind": "rollout", "rule": rule, "percent": percent })
    } else {
        json!({ "kind": "stop_enrolment" })
    };
    let mut body = json!({ "action": action, "reason": args.reason });
    if let Some(expires) = &args.expires {
        body["expiresAt"] = Value::String(time_arg(expires, true)?);
    }
    let remote = Remote::new(&args.server)?;
    let (etag, _) = remote.overrides()?;
    let res = remote.send(
        remote
            .http
            .put(format!("{}/v1/overrides/{}", remote.base, args.flag))
            .header(IF_MATCH, etag)
            .json(&body),
    )?;
    let (_, state) = remote.json(res)?;
    let shown = state["overrides"]
        .as_array()
        .and_then(|all| all.iter().find(|o| o["flag"] == args.flag.as_str()));
    match shown {
        Some(o) => println!(
            "`{}` overridden ({}) by {}: {}",
            args.flag,
            describe(&o["action"]),
            o["actor"].as_str().unwrap_or("?"),
            o["reason"].as_str().unwrap_or("")
        ),
        None => println!("`{}` overridden", args.flag),
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(action: &Value) -> String {
    match action["kind"].as_str().unwrap_or("") {
        "off" => "off".to_string(),
        "value" => format!("value {}", action["value"]),
        "variant" => format!("variant {}", action["variant"].as_str().unwrap_or("?")),
        "rollout" => format!(
            "rule {} at {}%",
            action["rule"].as_str().unwrap_or("?"),
            action["percent"]
        ),
        "stop_enrolment" => "enrolment stopped".to_string(),
        other => other.to_string(),
    }
}

fn print_overrides(body: &Value) {
    let all = body["overrides"].as_array().cloned().unwrap_or_default();
    if all.is_empty() {
        println!("no overrides (state version {})", body["version"]);
        return;
    }
    for o in &all {
        let expires = o["expiresAt"]
            .as_str()
            .map(|e| format!(", expires {e}"))
            .unwrap_or_default();
        let applied = match o["problem"].as_str() {
            Some(p) => format!("\n    NOT APPLIED: {p}"),
            None => String::new(),
        };
        println!(
            "{}: {} by {} since {}{expires}\n    reason: {}{applied}",
            o["flag"].as_str().unwrap_or("?"),
            describe(&o["action"]),
            o["actor"].as_str().unwrap_or("?"),
            o["createdAt"].as_str().unwrap_or("?"),
            o["reason"].as_str().unwrap_or(""),
        );
    }
}

pub fn audit(args: AuditArgs) -> Result<ExitCode, String> {
    let remote = Remote::new(&args.server)?;
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(f) = &args.flag {
        query.push(("flag", f.clone()));
    }
    if let Some(a) = &args.actor {
        query.push(("actor", a.clone()));
    }
    if let Some(s) = &args.since {
        query.push(("since", time_arg(s, false)?));
    }
    if let Some(u) = &args.until {
        query.push(("until", time_arg(u, false)?));
    }
    let format = args.format.as_str();
    if !matches!(format, "text" | "json" | "jsonl") {
        return Err(format!(
            "`--format` is `text`, `json` or `jsonl`, not `{format}`"
        ));
    }
    if format == "jsonl" {
        query.push(("format", "jsonl".to_string()));
    }
    let res = remote.send(
        remote
            .http
            .get(format!("{}/v1/audit", remote.base))
            .query(&query),
    )?;
    if format == "jsonl" {
        if !res.status().is_success() {
            return remote.json(res).map(|_| ExitCode::SUCCESS);
        }
        print!(
            "{}",
            res.text()
                .map_err(|e| format!("cannot read the answer: {e}"))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (_, body) = remote.json(res)?;
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in body["entries"].as_array().cloned().unwrap_or_default() {
        let flag = e["flag"]
            .as_str()
            .map(|f| format!(" {f}"))
            .unwrap_or_default();
        let reason = e["reason"]
            .as_str()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let origin = e["origin"]
            .as_str()
            .map(|o| format!(" (from {o})"))
            .unwrap_or_default();
        println!(
            "#{} {} {}{flag} by {}{reason}{origin}",
            e["id"],
            e["at"].as_str().unwrap_or("?"),
            e["kind"].as_str().unwrap_or("?"),
            e["actor"].as_str().unwrap_or("?"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `vexil check --server`: the overrides in force, as drift from git.
/// `Err` when the server cannot say.
pub fn drift(server: &ServerArgs) -> Result<usize, String> {
    let remote = Remote::new(server)?;
    let (_, body) = remote.overrides()?;
    let all = body["overrides"].as_array().cloned().unwrap_or_default();
    if all.is_empty() {
        println!("drift: none (no flag is overridden on {})", remote.base);
    } else {
        println!(
            "drift: {} overridden on {} (git is not what is served; bring git in line, then lift):",
            all.len(),
            remote.base
        );
        print_overrides(&body);
    }
    Ok(all.len())
}

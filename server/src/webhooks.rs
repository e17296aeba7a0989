//! Webhooks: every audit entry, delivered as JSON to the URLs of the
//! configuration's `[[webhooks]]`, signed with HMAC-SHA256 and a secret
//! that is read from the environment or a file and never logged.
//!
//! The audit log is the outbox: each hook has a delivery position in the
//! store (the id of the last entry it has taken), moved only after the
//! receiver answered 2xx, so an entry written before a crash is delivered
//! after the restart, and one delivered just before a crash may be sent
//! again (at least once; the `Vexil-Delivery` id lets a receiver drop the
//! repeat). A hook delivers in log order, one entry at a time, retrying a
//! failure with exponential backoff and jitter for as long as it takes. Its
//! task runs apart from requests: an evaluation or a write never waits for
//! a receiver.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::watch;
use vexil_control::{AuditEntry, AuditKind, Store};

/// Entries read from the log at once.
const BATCH: u32 = 100;
/// How often a hook that has taken everything looks for new entries.
const POLL: Duration = Duration::from_millis(250);
/// How long a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One `[[webhooks]]` entry of the configuration (the secret itself is not
/// in it: only where to read it from).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Its name, in logs, `/status` and metrics; also its position's key
    /// in the store, so renaming a hook starts it afresh.
    pub name: String,
    /// Where entries are POSTed (`http` or `https`).
    pub url: String,
    /// The environment variable that holds the signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The file that holds the signing secret (surrounding whitespace is
    /// ignored).
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
    /// Only entries of these kinds (`override_set`, ...); empty: every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Only entries about these flags; empty: every entry.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The first retry's delay, in milliseconds; each next one doubles, up
    /// to `retry_max_ms`, and is drawn between half and all of that.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// The longest delay between two attempts, in milliseconds.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
}

fn default_retry_base_ms() -> u64 {
    1_000
}

fn default_retry_max_ms() -> u64 {
    300_000
}

/// A signing secret: never printed.
struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What one hook has done, for `/status`.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStatus {
    pub name: String,
    /// The URL without its query or user information.
    pub url: String,
    /// The id of the last audit entry it has taken.
    pub position: u64,
    /// Entries delivered since the server started.
    pub delivered: u64,
    /// Failed attempts since the server started.
    pub failures: u64,
    /// Entries read from the log and not delivered yet (at most 100 are
    /// read at once).
    pub waiting: u64,
    /// The last failure, while the entry it concerns is not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivered_at: Option<Timestamp>,
}

/// One hook, ready to deliver.
struct Hook {
    config: WebhookConfig,
    kinds: Vec<AuditKind>,
    secret: Secret,
    status: Mutex<HookStatus>,
}

/// Every configured hook, and what each has done.
#[derive(Default)]
pub struct Webhooks {
    hooks: Vec<Arc<Hook>>,
}

impl Webhooks {
    /// Check `configs`, read their secrets, and fix each hook's position in
    /// `store` (a new hook starts at the end of the log), before the server
    /// appends anything.
    pub async fn open(configs: &[WebhookConfig], store: &dyn Store) -> Result<Webhooks, String> {
        let mut hooks = Vec::new();
        for (i, config) in configs.iter().enumerate() {
            let hook = check(config).map_err(|e| {
                let name = if config.name.is_empty() {
                    format!("{}", i + 1)
                } else {
                    format!("`{}`", config.name)
                };
                format!("webhook {name}: {e}")
            })?;
            if configs[..i].iter().any(|c| c.name == config.name) {
                return Err(format!(
                    "two webhooks are named `{}`: each needs its own name",
                    config.name
                ));
            }
            let position = store
                .hook_position(&config.name)
                .await
                .map_err(|e| format!("webhook `{}`: cannot read its position: {e}", config.name))?;
            if let Ok(mut s) = hook.status.lock() {
                s.position = position;
            }
            hooks.push(Arc::new(hook));
        }
        Ok(Webhooks { hooks })
    }

    /// What each hook has done.
    pub fn status(&self) -> Vec<HookStatus> {
        self.hooks
            .iter()
            .filter_map(|h| h.status.lock().ok().map(|s| s.clone()))
            .collect()
    }

    /// Start delivering, each hook in its own task, until the server stops.
    pub fn start(&self, app: &Arc<crate::state::App>) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot make the webhooks' HTTP client: {e}"))?;
        for hook in &self.hooks {
            tokio::spawn(deliver(hook.clone(), app.clone(), http.clone()));
        }
        Ok(())
    }
}

fn check(config: &WebhookConfig) -> Result<Hook, String> {
    if config.name.trim().is_empty() {
        return Err("`name` is empty".to_string());
    }
    let url = reqwest::Url::parse(&config.url).map_err(|e| format!("`url` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`url` must be http or https, not `{}`",
            url.scheme()
        ));
    }
    let kinds = config
        .kinds
        .iter()
        .map(|k| {
            AuditKind::parse(k).ok_or_else(|| format!("`kinds`: `{k}` is not an audit entry kind"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let secret = match (&config.secret_env, &config.secret_file) {
        (Some(var), None) => std::env::var(var)
            .map_err(|_| format!("the environment variable `{var}` (`secret_env`) is not set"))?,
        (None, Some(file)) => read_secret(file)?,
        _ => {
            return Err(
                "give the signing secret's place: `secret_env` or `secret_file` (one of them)"
                    .to_string(),
            )
        }
    };
    let secret = secret.trim();
    if secret.len() < 16 {
        return Err("the signing secret is shorter than 16 characters".to_string());
    }
    Ok(Hook {
        kinds,
        secret: Secret(secret.as_bytes().to_vec()),
        status: Mutex::new(HookStatus {
            name: config.name.clone(),
            url: crate::remote::redacted(&url),
            ..HookStatus::default()
        }),
        config: config.clone(),
    })
}

fn read_secret(file: &Path) -> Result<String, String> {
    std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read `secret_file` `{}`: {e}", file.display()))
}

impl Hook {
    /// Whether `entry` is for this hook.
    fn wants(&self, entry: &AuditEntry) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&entry.kind))
            && (self.config.flags.is_empty()
                || entry
                    .flag
                    .as_ref()
                    .is_some_and(|f| self.config.flags.contains(f)))
    }

    fn update(&self, f: impl FnOnce(&mut HookStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

/// The signature header's value for `body` sent at `timestamp` (seconds
/// since the epoch): `t=TIMESTAMP,v1=HEX`, where HEX is the HMAC-SHA256, under
/// the hook's secret, of `TIMESTAMP.BODY`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex = crate::auth::hex(&digest);
    format!("t={timestamp},v1={hex}")
}

/// The body of a delivery.
#[derive(Serialize)]
struct Delivery<'a> {
    /// The idempotency id: the entry's id, the same on every attempt.
    id: u64,
    hook: &'a str,
    entry: &'a AuditEntry,
}

/// One hook's task: read what it has not taken, deliver in order, move its
/// position after each success.
async fn deliver(hook: Arc<Hook>, app: Arc<crate::state::App>, http: reqwest::Client) {
    let name = hook.config.name.clone();
    let store = app.control.store.clone();
    let metrics = &app.metrics;
    let mut stopping = app.stopping();
    let mut failures: u32 = 0;
    loop {
        if *stopping.borrow() {
            return;
        }
        let next = async {
            let position = store.hook_position(&name).await?;
            let entries = store.audit_after(position, BATCH).await?;
            Ok::<_, vexil_control::StoreError>((position, entries))
        };
        let (mut position, entries) = match next.await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(hook = %name, error = %e, "webhook: cannot read the audit log yet");
                if wait(&mut stopping, backoff(&hook.config, failures)).await {
                    return;
                }
                failures = failures.saturating_add(1);
                continue;
            }
        };
        hook.update(|s| {
            s.position = position;
            s.waiting = entries.len() as u64;
        });
        metrics.webhook_position(&name, position);
        if entries.is_empty() {
            if wait(&mut stopping, POLL).await {
                return;
            }
            continue;
        }
        let mut left = entries.len() as u64;
        for entry in &entries {
            if hook.wants(entry) {
                loop {
                    match send(&hook, &http, entry).await {
                        Ok(()) => {
                            failures = 0;
                            metrics.webhook_delivered(&name);
                            hook.update(|s| {
                                s.delivered += 1;
                                s.last_error = None;
                                s.last_delivered_at = Some(Timestamp::now());
                            });
                            break;
                        }
                        Err(e) => {
                            metrics.webhook_failed(&name);
                            hook.update(|s| {
                                s.failures += 1;
                                s.last_error = Some(format!("entry {}: {e}", entry.id));
                            });
                            tracing::warn!(hook = %name, entry = entry.id, error = %e, attempt = failures + 1, "webhook delivery failed; retrying");
                            let delay = backoff(&hook.config, failures);
                            failures = failures.saturating_add(1);
                            if wait(&mut stopping, delay).await {
                                return;
                            }
                        }
                    }
                }
            }
            // Taken (delivered, or not for this hook): move on, unless
            // another server sharing the store moved first.
            match store.advance_hook(&name, position, entry.id).await {
                Ok(true) => {
                    position = entry.id;
                    left -= 1;
                    hook.update(|s| {
                        s.position = position;
                        s.waiting = left;
                    });
                    metrics.webhook_position(&name, position);
                }
                Ok(false) => break,
                Err(e) => {
                    // Delivered but not recorded: it will be sent again.
                    tracing::warn!(hook = %name, error = %e, "webhook: cannot record the delivery position yet");
                    break;
                }
            }
        }
    }
}

/// POST `entry` to the hook; `Err` says why it was not taken.
async fn send(hook: &Hook, http: &reqwest::Client, entry: &AuditEntry) -> Result<(), String> {
    let body = serde_json::to_vec(&Delivery {
        id: entry.id,
        hook: &hook.config.name,
        entry,
    })
    .map_err(|e| e.to_string())?;
    let now = Timestamp::now().as_second();
    let response = http
        .post(&hook.config.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("vexil-delivery", entry.id.to_string())
        .header("vexil-signature", signature(&hook.secret.0, now, &body))
        .body(body)
        .send()
        .await
        // Without the URL: it may hold a token in its query.
        .map_err(|e| format!("no answer: {}", e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}

/// The wait before attempt `failures + 1`: the base doubled per failure, at
/// most the maximum, drawn between half and all of it (jitter, so that a
/// fleet does not retry in step).
fn backoff(config: &WebhookConfig, failures: u32) -> Duration {
    let max = config.retry_max_ms.max(1);
    let full = config
        .retry_base_ms
        .max(1)
        .saturating_mul(1u64 << failures.min(32))
        .min(max);
    let drawn = rand::random_range(full / 2..=full);
    Duration::from_millis(drawn)
}

/// Sleep `delay`; `true` when the server began to stop meanwhile.
async fn wait(stopping: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => *stopping.borrow(),
        _ = stopping.changed() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: u64, max: u64) -> WebhookConfig {
        WebhookConfig {
            name: "ops".into(),
            url: "http://127.0.0.1:1/".into(),
            secret_env: None,
            secret_file: None,
            kinds: Vec::new(),
            flags: Vec::new(),
            retry_base_ms: base,
            retry_max_ms: max,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_maximum() {
        let c = config(100, 1_000);
        for failures in 0..40 {
            let full = (100u64 << failures.min(32)).min(1_000);
            let d = backoff(&c, failures).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "{failures}: {d}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231's test case 2 ("Jefe"), with its data split as
        // TIMESTAMP "." BODY would be.
        let sig = signature(b"Jefe", 0, b"");
        assert!(sig.starts_with("t=0,v1="));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want ");
        mac.update(b"for nothing?");
        let known: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            known,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = signature(b"key", 1_700_000_000, b"{\"id\":1}");
        let hex = sig.rsplit("v1=").next().expect("hex");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").expect("key");
        mac.update(b"1700000000.{\"id\":1}");
        let hex_bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        assert!(mac.verify_slice(&hex_bytes).is_ok());
    }

    #[test]
    fn a_hook_without_a_secret_or_with_a_bad_url_or_kind_is_refused() {
        let c = config(1, 1);
        assert!(check(&c).is_err_and(|e| e.contains("secret_env")));
        let mut c = config(1, 1);
        c.secret_file = Some("/nonexistent/vexil-secret".into());
        assert!(check(&c).is_err_and(|e| e.contains("cannot read")));
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("secret");
        std::fs::write(&file, "short\n").expect("write");
        c.secret_file = Some(file.clone());
        assert!(check(&c).is_err_and(|e| e.contains("shorter")));
        std::fs::write(&file, "0123456789abcdef-long-enough\n").expect("write");
        assert!(check(&c).is_ok());
        c.kinds = vec!["override_sett".into()];
        assert!(check(&c).is_err_and(|e| e.contains("`override_sett`")));
        c.kinds = Vec::new();
        c.url = "ftp://example.com/".into();
        assert!(check(&c).is_err_and(|e| e.contains("http or https")));
        // The secret never shows in a debug print.
        let hook = {
            c.url = "http://127.0.0.1:1/".into();
            check(&c).expect("valid")
        };
        assert_eq!(format!("{:?}", hook.secret), "Secret(..)");
    }
}

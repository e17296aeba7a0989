//! Overrides as the server applies them: the last state read from the
//! store (SQLite or PostgreSQL, `vexil-control`), laid over every version
//! served without recompiling it, followed as other servers change it,
//! lifted when they expire; and the audit log the server appends to
//! (version swaps, failed reloads, refused writes) without ever blocking
//! an evaluation.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use vexil_control::{NewEntry, OverrideState, Store};

use crate::state::App;

/// How often the store is read again even without a change notification
/// (a lost notification, a store that came back), and how often expiries
/// are looked for.
const REREAD: Duration = Duration::from_secs(2);
const EXPIRY_TICK: Duration = Duration::from_millis(250);

/// The server's side of the override store.
pub struct Control {
    pub store: Arc<dyn Store>,
    state: ArcSwap<OverrideState>,
    audit: mpsc::UnboundedSender<NewEntry>,
    /// The last error of the store, `None` once an operation succeeds.
    fault: Mutex<Option<String>>,
    /// Unapplied overrides already audited, so each is recorded once.
    reported: Mutex<HashSet<(String, String)>>,
}

impl Control {
    /// The control of `store`, whose state is `state`; starts the task
    /// that appends audit entries in order, retrying while the store is
    /// away.
    pub fn new(store: Arc<dyn Store>, state: OverrideState) -> Control {
        let (audit, entries) = mpsc::unbounded_channel();
        tokio::spawn(write_audit(store.clone(), entries));
        Control {
            store,
            state: ArcSwap::from_pointee(state),
            audit,
            fault: Mutex::new(None),
            reported: Mutex::new(HashSet::new()),
        }
    }

    /// The last state read.
    pub fn state(&self) -> Arc<OverrideState> {
        self.state.load_full()
    }

    /// Keep `state` if it is newer than the one held; whether it was.
    pub fn remember(&self, state: OverrideState) -> bool {
        let newer = state.version > self.state.load().version;
        if newer {
            self.state.store(Arc::new(state));
        }
        newer
    }

    /// Append `entry` to the audit log, in the background.
    pub fn audit(&self, entry: NewEntry) {
        if self.audit.send(entry).is_err() {
            tracing::error!("the audit writer has stopped; an audit entry was not recorded");
        }
    }

    /// Audit an override that does not apply to the version served, once
    /// per flag and reason.
    pub fn report_unapplied(&self, flag: &str, message: &str) {
        let first = self
            .reported
            .lock()
            .map(|mut r| r.insert((flag.to_string(), message.to_string())))
            .unwrap_or(true);
        if first {
            tracing::warn!(
                flag,
                problem = message,
                "an override does not apply to the version served"
            );
            self.audit(
                NewEntry::new(vexil_control::AuditKind::OverrideUnapplied, "system")
                    .flag(flag)
                    .reason(message),
            );
        }
    }

    pub fn fault(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    pub fn set_fault(&self, fault: Option<String>) {
        if let Ok(mut f) = self.fault.lock() {
            if f.is_none() && fault.is_some() {
                tracing::warn!(
                    error = fault.as_deref().unwrap_or(""),
                    "the override store is unavailable; serving the last known overrides"
                );
            } else if f.is_some() && fault.is_none() {
                tracing::info!("the override store is back");
            }
            *f = fault;
        }
    }
}

/// Appends entries in the order they were made; an entry waits (and is
/// retried) while the store is away, and later ones wait behind it.
async fn write_audit(store: Arc<dyn Store>, mut entries: mpsc::UnboundedReceiver<NewEntry>) {
    while let Some(entry) = entries.recv().await {
        let mut backoff = Duration::from_millis(100);
        for attempt in 1.. {
            match store.append(entry.clone()).await {
                Ok(_) => break,
                Err(e) if attempt < 30 => {
                    tracing::warn!(error = %e, attempt, "cannot append to the audit log yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!(error = %e, kind = entry.kind.as_str(), "an audit entry could not be recorded");
                    break;
                }
            }
        }
    }
}

/// Follow the store: apply every newer state (another server's write, a
/// notification missed while the store was away), and lift expired
/// overrides. Ends when the server stops.
pub async fn follow(app: Arc<App>) {
    let control = &app.control;
    let mut changes = control.store.changes();
    let mut stopping = app.stopping();
    let mut reread = tokio::time::interval(REREAD);
    let mut expiry = tokio::time::interval(EXPIRY_TICK);
    loop {
        let read = tokio::select! {
            _ = stopping.changed() => return,
            _ = changes.changed() => true,
            _ = reread.tick() => true,
            _ = expiry.tick() => false,
        };
        if *stopping.borrow() {
            return;
        }
        let now = jiff::Timestamp::now();
        let due = control
            .state()
            .overrides
            .iter()
            .any(|o| o.expires_at.is_some_and(|e| e <= now));
        if due {
            match control.store.expire(now).await {
                Ok(lifted) => {
                    for o in lifted {
                        tracing::info!(flag = %o.flag, "an override expired and lifted itself");
                    }
                }
                Err(e) => control.set_fault(Some(e.to_string())),
            }
        }
        if !(read || due) {
            continue;
        }
        match control.store.state().await {
            Ok(state) => {
                control.set_fault(None);
                app.apply_overrides(state);
            }
            Err(e) => control.set_fault(Some(e.to_string())),
        }
    }
}

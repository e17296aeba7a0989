//! What the Flags page knows from git: the flags `vexil stale` reports
//! and when each flag's declaration last changed, computed by the
//! lifecycle crate (its inventory and stale report, as `vexil stale` runs
//! them) over the version served. The work runs on a thread of its own at
//! background priority after each reload of a directory source (and once a
//! day, since staleness counts days), never on a request's path: a page
//! reads the last result.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::state::{App, Served};

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

/// The page's git facts, or why there are none.
pub(crate) enum GitFacts {
    /// Being computed for the first time.
    Pending,
    /// None for this server, and why (said on the page).
    Unavailable(String),
    /// Computed for a version of the flags.
    Ready(Facts),
}

/// The stale flags and last commits of one version.
pub(crate) struct Facts {
    /// The bundle version they were computed for.
    pub bundle_version: String,
    /// Each stale flag's or experiment's evidence, one line each.
    pub stale: HashMap<String, Vec<String>>,
    /// The newest commit time among each declaration's lines, in
    /// microseconds (a line not committed yet counts as the computation's
    /// day).
    pub changed: HashMap<String, i64>,
    /// The commit behind each `changed` and its subject line, when the
    /// newest change is a commit.
    pub commits: HashMap<String, Commit>,
}

/// A commit's id and subject line.
pub(crate) type Commit = (String, Option<String>);

/// Where the Flags page reads the facts from.
pub(crate) type Shared = Arc<ArcSwap<GitFacts>>;

/// Start following the served versions (nothing to follow when the source
/// is not a directory).
pub(crate) fn follow(app: Arc<App>) -> Shared {
    let shared: Shared = Arc::new(ArcSwap::from_pointee(GitFacts::Pending));
    let dir = match (&app.config.source, app.source().kind) {
        (Some(dir), "directory") => dir.clone(),
        _ => {
            shared.store(Arc::new(GitFacts::Unavailable(
                "the server serves a bundle, not a directory of sources in git".to_string(),
            )));
            return shared;
        }
    };
    let out = shared.clone();
    let mut changes = app.changes();
    let mut stopping = app.stopping();
    tokio::spawn(async move {
        // The bundle version and the day last computed for.
        let mut done: Option<(String, i64)> = None;
        loop {
            let served = app.served();
            let today = app.now().div_euclid(DAY) * DAY;
            if done.as_ref() != Some(&(served.bundle_version.clone(), today)) {
                done = Some((served.bundle_version.clone(), today));
                let (tx, rx) = tokio::sync::oneshot::channel();
                let dir = dir.clone();
                let spawned = std::thread::Builder::new()
                    .name("vexil-git-facts".to_string())
                    .spawn(move || {
                        vexil_runtime::lower_this_thread();
                        let _ = tx.send(compute(&dir, &served, today));
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot start the thread reading git for the dashboard");
                } else if let Ok(facts) = rx.await {
                    out.store(Arc::new(facts));
                }
            }
            tokio::select! {
                _ = changes.changed() => {}
                // A new day can make a flag stale.
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = stopping.changed() => return,
            }
        }
    });
    shared
}

/// The facts of the version `served`, whose sources are under `dir`;
/// `today` is midnight UTC in microseconds.
fn compute(dir: &Path, served: &Served, today: i64) -> GitFacts {
    let bundle = served.base.bundle();
    let files: BTreeSet<&str> = bundle
        .flags
        .iter()
        .map(|f| &f.meta)
        .chain(bundle.experiments.iter().map(|x| &x.meta))
        .filter_map(|m| m.location.as_ref().map(|l| l.file.as_str()))
        .collect();
    let history = vexil_lifecycle::History::of(files.iter().copied());
    if history.is_empty() {
        return GitFacts::Unavailable(format!(
            "`{}` is not in a git repository (or git is not installed)",
            dir.display()
        ));
    }
    // The texts the declarations' ends are found in; a file gone since
    // the version was compiled has no end (its first line is used).
    let texts: HashMap<&str, String> = files
        .iter()
        .filter_map(|f| Some((*f, std::fs::read_to_string(f).ok()?)))
        .collect();
    let entries = vexil_lifecycle::inventory(
        bundle,
        |f| texts.get(f).map(String::as_str),
        &history,
        today,
    );
    let conventions = match vexil_compiler::Conventions::find(dir) {
        Ok(found) => found.map(|(_, c)| c).unwrap_or_default(),
        Err(e) => {
            return GitFacts::Unavailable(format!("the project's conventions cannot be read: {e}"))
        }
    };
    let options = vexil_lifecycle::StaleOptions {
        today,
        launched_days: vexil_lifecycle::stale::LAUNCHED_DAYS,
        conventions,
        usage: None,
    };
    let stale = vexil_lifecycle::stale(bundle, &entries, None, &options)
        .into_iter()
        .map(|s| (s.name, s.evidence.iter().map(|e| e.describe()).collect()))
        .collect();
    let changed = entries
        .iter()
        .filter_map(|e| Some((e.name.clone(), e.times?.1 * 1_000_000)))
        .collect();
    let commits = entries
        .into_iter()
        .filter_map(|e| Some((e.name, e.last_commit?)))
        .collect();
    GitFacts::Ready(Facts {
        bundle_version: served.bundle_version.clone(),
        stale,
        changed,
        commits,
    })
}

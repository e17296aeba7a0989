//! What the dashboard knows from the application's code: where each flag is
//! referenced, and which flags no code refers to (`stale`, as `vexil stale
//! --code` reports them). The code is searched by the lifecycle crate (as
//! `vexil refs` searches it) in the directories `[dashboard] code` names,
//! on a thread of its own at background priority, after each new version
//! and every `code_refresh_seconds`, never on a request's path: a page
//! reads the last result.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use maud::{html, Markup};
use vexil_lifecycle::refs::{How, Reference};

use super::page;
use crate::state::{App, Served};

/// References kept per flag for its page; the rest are counted.
pub(crate) const PLACES: usize = 20;

/// The code's facts, or why there are none.
pub(crate) enum CodeFacts {
    /// `[dashboard] code` names no directory: the code is not searched.
    NotSearched,
    /// Being searched for the first time.
    Pending,
    /// The search failed, and why (said on the pages).
    Failed(String),
    /// Searched for a version of the flags.
    Ready(Found),
}

/// One search's findings.
pub(crate) struct Found {
    /// When the search ran, microseconds since the epoch.
    pub searched_at: i64,
    /// Files searched.
    pub files: usize,
    /// Flags and experiments no code refers to (comments do not count).
    pub unreferenced: HashSet<String>,
    /// Each flag's references in code (not comments), the first
    /// [`PLACES`], and how many there are in all.
    pub places: HashMap<String, (Vec<Reference>, usize)>,
    /// Files that could not be read.
    pub errors: usize,
}

/// A flag's or an experiment's page: where the code refers to `name`.
pub(crate) fn section(facts: &CodeFacts, name: &str) -> Markup {
    html! {
        section #code {
            h2 { "Code references" }
            @match facts {
                CodeFacts::NotSearched => {
                    p.muted { "The code is not searched: name the application's directories in " code { "[dashboard] code" } " (as " code { "vexil refs" } " searches them)." }
                }
                CodeFacts::Pending => { p.muted { "The code is being searched." } }
                CodeFacts::Failed(why) => { p.error { "The code cannot be searched: " (why) } }
                CodeFacts::Ready(found) => { (references(found, name)) }
            }
        }
    }
}

fn references(found: &Found, name: &str) -> Markup {
    let searched = format!(
        "{} searched at {}",
        vexil_words::count(found.files, "file"),
        page::time_micros(found.searched_at)
    );
    html! {
        @match found.places.get(name) {
            None => { p.muted { "Served after the last search (" (searched) "); it is searched again shortly." } }
            Some((_, 0)) => { p.refs-none { "No reference in the code (" (searched) "): " code { "vexil stale --code" } " calls it stale." } }
            Some((places, count)) => {
                p { (vexil_words::count(*count, "reference")) " in the code (" (searched) ")." }
                table.refs {
                    thead { tr { th { "Where" } th { "How" } th { "Line" } } }
                    tbody {
                        @for r in places {
                            tr {
                                td { code { (r.place.file) ":" (r.place.line) } }
                                td { (how(r.how)) }
                                td { code { (r.place.context) } }
                            }
                        }
                    }
                }
                @if *count > places.len() {
                    p.muted { "The first " (places.len()) " are shown; " code { "vexil refs --flags " (name) } " lists them all." }
                }
            }
        }
        @if found.errors > 0 {
            p.muted { (vexil_words::count(found.errors, "file")) " could not be read." }
        }
    }
}

fn how(how: How) -> &'static str {
    match how {
        How::Literal => "its key",
        How::Hook => "React hook",
        How::Accessor => "Rust accessor",
        How::Comment => "comment",
    }
}

impl Found {
    /// The stale evidence for `name`, in `vexil stale`'s words.
    pub fn evidence(&self, name: &str) -> Option<String> {
        self.unreferenced.contains(name).then(|| {
            format!(
                "{} ({} searched)",
                vexil_lifecycle::Evidence::Unreferenced.describe(),
                vexil_words::count(self.files, "file")
            )
        })
    }
}

/// Where the pages read the facts from.
pub(crate) type Shared = Arc<ArcSwap<CodeFacts>>;

/// Start searching the code `[dashboard] code` names (nothing to do when
/// it names none).
pub(crate) fn follow(app: Arc<App>) -> Shared {
    let paths = app.config.dashboard.code.clone();
    if paths.is_empty() {
        return Arc::new(ArcSwap::from_pointee(CodeFacts::NotSearched));
    }
    let shared: Shared = Arc::new(ArcSwap::from_pointee(CodeFacts::Pending));
    let out = shared.clone();
    let every = Duration::from_secs(app.config.dashboard.code_refresh_seconds.max(1));
    let mut changes = app.changes();
    let mut stopping = app.stopping();
    tokio::spawn(async move {
        loop {
            let served = app.served();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let paths = paths.clone();
            let spawned = std::thread::Builder::new()
                .name("vexil-code-refs".to_string())
                .spawn(move || {
                    // The walk's own threads inherit the lowered priority.
                    vexil_runtime::lower_this_thread();
                    let _ = tx.send(search(&paths, &served));
                });
            match spawned {
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the thread searching the code for the dashboard");
                }
                Ok(_) => {
                    if let Ok(facts) = rx.await {
                        if let CodeFacts::Failed(why) = &facts {
                            tracing::warn!(reason = %why, "the dashboard cannot search the code");
                        }
                        out.store(Arc::new(facts));
                    }
                }
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(every) => {}
                _ = stopping.changed() => return,
            }
        }
    });
    shared
}

/// The references to the flags of `served` in the code under `paths`.
fn search(paths: &[PathBuf], served: &Served) -> CodeFacts {
    let keys = vexil_lifecycle::refs::keys(served.base.bundle());
    let refs = match vexil_lifecycle::refs(&keys, paths) {
        Ok(refs) => refs,
        Err(e) => return CodeFacts::Failed(e),
    };
    let unreferenced = refs.unreferenced().into_iter().collect();
    let places = refs
        .flags
        .into_iter()
        .map(|f| {
            let mut code: Vec<Reference> = f
                .references
                .into_iter()
                .filter(|r| r.how != How::Comment)
                .collect();
            let count = code.len();
            code.truncate(PLACES);
            (f.name, (code, count))
        })
        .collect();
    CodeFacts::Ready(Found {
        searched_at: vexil_runtime::now(),
        files: refs.files,
        unreferenced,
        places,
        errors: refs.errors.len(),
    })
}

//! The experiment pages' analyses, computed off the request path and kept
//! per experiment and view (always-valid or fixed-horizon): a page reuses
//! the analysis of the same definition of the experiment (its variants,
//! allocation, metrics: everything but its metadata, so a new version that
//! leaves it alone keeps its analysis) made in the last
//! `[dashboard] analysis_cache_seconds`. An older one of the same
//! definition is still answered at once (the page says when it was read)
//! while a new one is computed in the background. A page with no analysis
//! of the served definition waits for one only up to `[dashboard]
//! analysis_wait_ms`, then answers without it ([`Lookup::Pending`]); the
//! page's script then asks for the section alone ([`Patience::Newest`]),
//! which waits for the computation under way, and puts it in place (so
//! does a page answered with an old analysis while a newer is computed).
//! Computations run on a blocking thread, one per experiment and view at a
//! time (single flight): requests that arrive meanwhile share its result,
//! and a request that goes away does not cancel it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use vexil_events::{analyze_experiment, AnalysisOptions, Report};
use vexil_ir::{Bundle, Experiment};

/// How an experiment's results are tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Always-valid p-values and confidence sequences (`vexil analyze
    /// --sequential`): valid however often the page is looked at.
    Sequential,
    /// `vexil analyze`'s default: valid for one look at the planned end.
    Fixed,
}

impl Mode {
    /// The view named in `?mode=`; `None` is the always-valid one.
    pub fn parse(text: Option<&str>) -> Result<Mode, String> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None | Some("sequential") => Ok(Mode::Sequential),
            Some("fixed") => Ok(Mode::Fixed),
            Some(other) => Err(format!(
                "no view `{other}`: `mode` is `sequential` (the default) or `fixed`"
            )),
        }
    }

    fn options(self) -> AnalysisOptions {
        match self {
            Mode::Sequential => AnalysisOptions::sequential(),
            Mode::Fixed => AnalysisOptions::default(),
        }
    }
}

/// One computed analysis.
pub struct Analysis {
    /// The digest of the experiment's definition it was computed for.
    definition: String,
    /// When it started reading the store (monotonic, for its age).
    started: Instant,
    /// The same moment as a time of day, for the page.
    pub as_of: Timestamp,
    /// How long it took.
    pub took: Duration,
    pub report: Result<Report, String>,
}

/// One experiment and view: the latest analysis, readable at once, and
/// the lock a computation holds (single flight).
#[derive(Default)]
struct SlotState {
    latest: Mutex<Option<Arc<Analysis>>>,
    computing: Arc<tokio::sync::Mutex<()>>,
}

impl SlotState {
    /// The latest analysis if it is of `definition`.
    fn latest_of(&self, definition: &str) -> Option<Arc<Analysis>> {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest
            .as_ref()
            .filter(|a| a.definition == definition)
            .cloned()
    }
}

type Slot = Arc<SlotState>;

/// How long a request waits for an analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// A page: a kept analysis of the served definition at once, even an
    /// old one; with none, wait up to this long for a computation.
    Budget(Duration),
    /// The analysis section alone, asked for by a page answered without
    /// an analysis or with an old one: wait for the computation under way
    /// and answer its result, or compute one unless the kept one is
    /// recent enough.
    Newest,
}

/// What a request gets.
pub enum Lookup {
    /// An analysis of the served definition; `newer` when a newer one is
    /// being computed (a page's script then asks for it).
    Ready {
        analysis: Arc<Analysis>,
        newer: bool,
    },
    /// None within the budget; one is being computed.
    Pending,
}

/// The cache: a slot per experiment and view.
pub struct Analyses {
    keep: Duration,
    slots: Mutex<HashMap<(String, Mode), Slot>>,
}

impl Analyses {
    /// Analyses kept for `keep` (zero: every view computes its own).
    pub fn new(keep: Duration) -> Analyses {
        Analyses {
            keep,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// How long an analysis is reused.
    pub fn keep(&self) -> Duration {
        self.keep
    }

    /// The analysis of `experiment` of `bundle` over the store at
    /// `store`: the kept one if it is recent enough and of the same
    /// definition, else a new one.
    pub async fn get(
        &self,
        store: PathBuf,
        bundle: &Bundle,
        experiment: &Experiment,
        mode: Mode,
        patience: Patience,
    ) -> Lookup {
        let served: Vec<&str> = bundle.experiments.iter().map(|x| x.name.as_str()).collect();
        let definition = definition(experiment);
        let experiment = experiment.clone();
        let name = experiment.name.clone();
        self.get_with(&served, &name, mode, &definition, patience, move || {
            let store = vexil_events::Store::open_existing(&store).map_err(|e| e.to_string())?;
            analyze_experiment(&store, &experiment, &mode.options()).map_err(|e| e.to_string())
        })
        .await
    }

    /// `get` with the computation given: `served` names the experiments
    /// served now (the others' slots are freed); `definition` is the
    /// served experiment's [`definition`].
    async fn get_with(
        &self,
        served: &[&str],
        name: &str,
        mode: Mode,
        definition: &str,
        patience: Patience,
        compute: impl FnOnce() -> Result<Report, String> + Send + 'static,
    ) -> Lookup {
        let asked = Instant::now();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.retain(|(name, _), _| served.contains(&name.as_str()));
            slots.entry((name.to_string(), mode)).or_default().clone()
        };
        let ready = |analysis| Lookup::Ready {
            analysis,
            newer: false,
        };
        let fresh = |a: &Arc<Analysis>| !self.keep.is_zero() && a.started.elapsed() < self.keep;
        if patience == Patience::Newest {
            // A computation under way: its result is the newest there is.
            if slot.computing.clone().try_lock_owned().is_err() {
                drop(slot.computing.clone().lock_owned().await);
                if let Some(analysis) = slot.latest_of(definition) {
                    return ready(analysis);
                }
            }
        }
        // Kept for no time: every view computes its own.
        let latest = slot.latest_of(definition).filter(|_| !self.keep.is_zero());
        if let Some(analysis) = latest {
            if fresh(&analysis) {
                return ready(analysis);
            }
            if let Patience::Budget(_) = patience {
                // Old, but of this definition: answered now; a new one is
                // computed unless one already is.
                if let Ok(computing) = slot.computing.clone().try_lock_owned() {
                    drop(compute_in_background(
                        slot.clone(),
                        computing,
                        definition,
                        compute,
                    ));
                }
                return Lookup::Ready {
                    analysis,
                    newer: true,
                };
            }
        }
        let deadline = match patience {
            Patience::Budget(wait) => Some(tokio::time::Instant::from_std(asked + wait)),
            Patience::Newest => None,
        };
        let computing = match deadline {
            None => slot.computing.clone().lock_owned().await,
            Some(at) => {
                match tokio::time::timeout_at(at, slot.computing.clone().lock_owned()).await {
                    Ok(computing) => computing,
                    Err(_) => return Lookup::Pending,
                }
            }
        };
        // Computed by the request this one waited for.
        if let Some(analysis) = slot.latest_of(definition).filter(fresh) {
            return ready(analysis);
        }
        let task = compute_in_background(slot, computing, definition, compute);
        let done = match deadline {
            // No wait at all: pending, whatever the task's speed.
            Some(_) if patience == Patience::Budget(Duration::ZERO) => return Lookup::Pending,
            None => task.await,
            // Past the budget the task goes on, and keeps its result.
            Some(at) => match tokio::time::timeout_at(at, task).await {
                Ok(done) => done,
                Err(_) => return Lookup::Pending,
            },
        };
        ready(done.unwrap_or_else(|e| {
            Arc::new(Analysis {
                definition: String::new(),
                started: Instant::now(),
                as_of: Timestamp::now(),
                took: Duration::ZERO,
                report: Err(format!("the analysis failed: {e}")),
            })
        }))
    }
}

/// Compute in a task of its own that holds the slot's lock (so waiters get
/// its result, and it ends even if the request that started it is
/// dropped), and keep the result as the slot's latest.
fn compute_in_background(
    slot: Slot,
    computing: tokio::sync::OwnedMutexGuard<()>,
    definition: &str,
    compute: impl FnOnce() -> Result<Report, String> + Send + 'static,
) -> tokio::task::JoinHandle<Arc<Analysis>> {
    let definition = definition.to_string();
    tokio::spawn(async move {
        let (started, as_of) = (Instant::now(), Timestamp::now());
        let report = tokio::task::spawn_blocking(compute)
            .await
            .unwrap_or_else(|e| Err(format!("the analysis failed: {e}")));
        let analysis = Arc::new(Analysis {
            definition,
            started,
            as_of,
            took: started.elapsed(),
            report,
        });
        *slot.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(analysis.clone());
        drop(computing);
        analysis
    })
}

/// What an analysis of `experiment` depends on, as a digest: the whole
/// definition but its metadata (owner, description, tags, where it is
/// declared), which the analysis does not read.
fn definition(experiment: &Experiment) -> String {
    use sha2::{Digest, Sha256};
    let mut bare = experiment.clone();
    bare.meta = vexil_ir::Metadata::default();
    // Serialising the IR's own types cannot fail; if it did, the name
    // alone would still key the analysis to this experiment.
    let text = serde_json::to_vec(&bare).unwrap_or_else(|_| bare.name.clone().into_bytes());
    Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A computation that counts its runs and takes `ms` milliseconds;
    /// its error text is its run's number.
    fn counted(runs: &Arc<AtomicUsize>, ms: u64) -> impl FnOnce() -> Result<Report, String> {
        let runs = runs.clone();
        move || {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            std::thread::sleep(Duration::from_millis(ms));
            Err(format!("run {n}"))
        }
    }

    /// A page's view with all the time it needs: the analysis.
    async fn view(
        analyses: &Analyses,
        mode: Mode,
        definition: &str,
        compute: impl FnOnce() -> Result<Report, String> + Send + 'static,
    ) -> Arc<Analysis> {
        let patience = Patience::Budget(Duration::from_secs(3600));
        match analyses
            .get_with(&["x"], "x", mode, definition, patience, compute)
            .await
        {
            Lookup::Ready { analysis, .. } => analysis,
            Lookup::Pending => panic!("pending with an hour to wait"),
        }
    }

    fn text(a: &Analysis) -> String {
        a.report.as_ref().err().cloned().unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn views_at_once_share_one_computation_which_is_kept() {
        let analyses = Arc::new(Analyses::new(Duration::from_secs(60)));
        let runs = Arc::new(AtomicUsize::new(0));
        let views: Vec<_> = (0..8)
            .map(|_| {
                let (analyses, runs) = (analyses.clone(), runs.clone());
                tokio::spawn(async move {
                    let a = view(&analyses, Mode::Sequential, "v1", counted(&runs, 200)).await;
                    text(&a)
                })
            })
            .collect();
        for v in views {
            assert_eq!(v.await.unwrap(), "run 1");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Kept: a later view does not compute; another view or another
        // definition does (an age past the limit: the next test).
        let a = view(&analyses, Mode::Sequential, "v1", counted(&runs, 0)).await;
        assert_eq!(text(&a), "run 1");
        let fixed = view(&analyses, Mode::Fixed, "v1", counted(&runs, 0)).await;
        assert_eq!(text(&fixed), "run 2");
        let changed = view(&analyses, Mode::Sequential, "v2", counted(&runs, 0)).await;
        assert_eq!(text(&changed), "run 3");
        let never = Analyses::new(Duration::ZERO);
        for n in 4..6 {
            let a = view(&never, Mode::Sequential, "v2", counted(&runs, 0)).await;
            assert_eq!(text(&a), format!("run {n}"));
        }
    }

    /// `counted`, but it waits for `gate` to open.
    fn gated(
        runs: &Arc<AtomicUsize>,
        gate: &Arc<std::sync::atomic::AtomicBool>,
    ) -> impl FnOnce() -> Result<Report, String> {
        let (runs, gate) = (runs.clone(), gate.clone());
        move || {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            while !gate.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(format!("run {n}"))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_old_analysis_is_answered_at_once_while_a_new_one_is_computed() {
        let analyses = Analyses::new(Duration::from_millis(50));
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let first = view(&analyses, Mode::Sequential, "v1", counted(&runs, 0)).await;
        assert_eq!(text(&first), "run 1");
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Past its age: every view gets the old one at once, while one
        // computation (held at the gate) runs, not one per view.
        for _ in 0..3 {
            let a = view(&analyses, Mode::Sequential, "v1", gated(&runs, &gate)).await;
            assert_eq!(text(&a), "run 1");
        }
        let since = Instant::now();
        while runs.load(Ordering::SeqCst) < 2 {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "no refresh started"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        gate.store(true, Ordering::SeqCst);
        loop {
            let a = view(&analyses, Mode::Sequential, "v1", counted(&runs, 0)).await;
            if text(&a) != "run 1" {
                assert_eq!(text(&a), "run 2");
                break;
            }
            assert!(since.elapsed() < Duration::from_secs(10), "never refreshed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Another definition's analysis is never answered for this one:
        // the view waits for a computation of its own.
        let other = view(&analyses, Mode::Sequential, "v2", counted(&runs, 0)).await;
        assert_eq!(text(&other), format!("run {}", runs.load(Ordering::SeqCst)));
        assert_ne!(text(&other), "run 2");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_view_that_goes_away_does_not_cancel_the_computation() {
        let analyses = Arc::new(Analyses::new(Duration::from_secs(60)));
        let runs = Arc::new(AtomicUsize::new(0));
        let first = {
            let (analyses, runs) = (analyses.clone(), runs.clone());
            tokio::spawn(async move {
                view(&analyses, Mode::Sequential, "v1", counted(&runs, 300)).await
            })
        };
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.abort();
        let a = view(&analyses, Mode::Sequential, "v1", counted(&runs, 0)).await;
        assert_eq!(text(&a), "run 1");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    /// The section's lookup, with `gate` opened 50 ms after it starts
    /// waiting: the analysis it answers, and whether a newer one comes.
    async fn newest(
        lookup: impl std::future::Future<Output = Lookup>,
        gate: &Arc<std::sync::atomic::AtomicBool>,
    ) -> (Arc<Analysis>, bool) {
        let opener = tokio::spawn({
            let gate = gate.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                gate.store(true, Ordering::SeqCst);
            }
        });
        let Lookup::Ready { analysis, newer } = lookup.await else {
            panic!("the section never pends");
        };
        opener.await.unwrap();
        (analysis, newer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_answers_pending_past_its_budget_and_the_section_waits_for_that_computation() {
        let analyses = Analyses::new(Duration::from_millis(200));
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let budget = Patience::Budget(Duration::from_millis(20));
        macro_rules! get {
            ($patience:expr, $compute:expr) => {
                analyses.get_with(&["x"], "x", Mode::Sequential, "v1", $patience, $compute)
            };
        }
        // The page: past its budget, answered without the analysis.
        let page = get!(budget, gated(&runs, &gate)).await;
        assert!(matches!(page, Lookup::Pending));
        // A second page in the meantime neither waits nor starts another.
        assert!(matches!(
            get!(budget, counted(&runs, 0)).await,
            Lookup::Pending
        ));
        // The section waits for the computation under way and answers it.
        let (analysis, newer) = newest(get!(Patience::Newest, counted(&runs, 0)), &gate).await;
        assert_eq!((text(&analysis), newer), ("run 1".to_string(), false));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Kept: the next page has it at once.
        let Lookup::Ready { analysis, newer } = get!(budget, counted(&runs, 0)).await else {
            panic!("kept");
        };
        assert_eq!((text(&analysis), newer), ("run 1".to_string(), false));

        // Old: the page gets it at once and is told a newer one is coming;
        // the section waits for that one.
        tokio::time::sleep(Duration::from_millis(250)).await;
        gate.store(false, Ordering::SeqCst);
        let Lookup::Ready { analysis, newer } = get!(budget, gated(&runs, &gate)).await else {
            panic!("an old analysis is answered");
        };
        assert_eq!((text(&analysis), newer), ("run 1".to_string(), true));
        let (analysis, newer) = newest(get!(Patience::Newest, counted(&runs, 0)), &gate).await;
        assert_eq!((text(&analysis), newer), ("run 2".to_string(), false));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // With nothing under way and a fresh one kept, the section answers
        // it without computing.
        let Lookup::Ready { analysis, .. } = get!(Patience::Newest, counted(&runs, 0)).await else {
            panic!("the section never pends");
        };
        assert_eq!(text(&analysis), "run 2");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_definition_is_all_but_the_metadata() {
        let source = "context user {\n  id: string\n}\n\n\
            experiment layout: string {\n  owner \"team-a\"\n  unit user.id\n  \
            variants {\n    a = \"a\" 50%\n    b = \"b\" 50%\n  }\n  control a\n}\n";
        let definition_of = |text: &str| {
            let mut project = vexil_compiler::Project::new();
            project.set_source("x.flag", text.into());
            let bundle = project.bundle(false).unwrap_or_else(|e| panic!("{e:?}"));
            definition(&bundle.experiments[0])
        };
        let first = definition_of(source);
        // Moved down a line, another owner: the same definition.
        let moved = format!("\n{}", source.replace("team-a", "team-b"));
        assert_eq!(first, definition_of(&moved));
        // Another split: another.
        let resplit = source
            .replace("\"a\" 50%", "\"a\" 40%")
            .replace("\"b\" 50%", "\"b\" 60%");
        assert_ne!(first, definition_of(&resplit));
    }

    #[test]
    fn a_view_is_sequential_fixed_or_refused() {
        assert_eq!(Mode::parse(None), Ok(Mode::Sequential));
        assert_eq!(Mode::parse(Some("")), Ok(Mode::Sequential));
        assert_eq!(Mode::parse(Some("fixed")), Ok(Mode::Fixed));
        assert!(Mode::parse(Some("Fixed"))
            .unwrap_err()
            .contains("no view `Fixed`"));
    }
}

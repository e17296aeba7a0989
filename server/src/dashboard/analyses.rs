//! The experiment pages' analyses, computed off the request path and kept
//! per experiment and view (always-valid or fixed-horizon): a page reuses
//! the analysis of the same served bundle made in the last
//! `[dashboard] analysis_cache_seconds`, else computes it on a blocking
//! thread. One computation per experiment and view runs at a time (single
//! flight): requests that arrive meanwhile wait for it and share its
//! result, and a request that goes away does not cancel it.

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
    /// The served bundle's digest it was computed for.
    bundle_version: String,
    /// When it started reading the store (monotonic, for its age).
    started: Instant,
    /// The same moment as a time of day, for the page.
    pub as_of: Timestamp,
    /// How long it took.
    pub took: Duration,
    pub report: Result<Report, String>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Analysis>>>>;

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

    /// The analysis of `experiment` of `bundle` (served as
    /// `bundle_version`) over the store at `store`: the kept one if it is
    /// recent enough and of the same bundle, else a new one.
    pub async fn get(
        &self,
        store: PathBuf,
        bundle: &Bundle,
        bundle_version: &str,
        experiment: &Experiment,
        mode: Mode,
    ) -> Arc<Analysis> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            // Experiments no longer served free their slots.
            slots.retain(|(name, _), _| bundle.experiments.iter().any(|x| &x.name == name));
            slots
                .entry((experiment.name.clone(), mode))
                .or_default()
                .clone()
        };
        let mut kept = slot.lock_owned().await;
        if let Some(analysis) = kept
            .as_ref()
            .filter(|a| a.bundle_version == bundle_version && a.started.elapsed() < self.keep)
        {
            return analysis.clone();
        }
        let experiment = experiment.clone();
        let bundle_version = bundle_version.to_string();
        // The computation owns the slot's lock, so waiters get its result,
        // and runs in a task of its own, so it ends even if this request
        // is dropped.
        let task = tokio::spawn(async move {
            let (started, as_of) = (Instant::now(), Timestamp::now());
            let report = tokio::task::spawn_blocking(move || {
                let store =
                    vexil_events::Store::open_existing(&store).map_err(|e| e.to_string())?;
                analyze_experiment(&store, &experiment, &mode.options()).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("the analysis failed: {e}")));
            let analysis = Arc::new(Analysis {
                bundle_version,
                started,
                as_of,
                took: started.elapsed(),
                report,
            });
            *kept = Some(analysis.clone());
            analysis
        });
        match task.await {
            Ok(analysis) => analysis,
            Err(e) => Arc::new(Analysis {
                bundle_version: String::new(),
                started: Instant::now(),
                as_of: Timestamp::now(),
                took: Duration::ZERO,
                report: Err(format!("the analysis failed: {e}")),
            }),
        }
    }
}

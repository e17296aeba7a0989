//! The engine a service embeds: the current snapshot behind an atomic
//! pointer, swapped on reload. Readers never block and never see a half
//! loaded version; a reload that fails leaves the last good one in place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use vexil_ir::{Bundle, ValidBundle};

use crate::context::Context;
use crate::exposure::ExposureSink;
use crate::outcome::Details;
use crate::snapshot::{pick, At, BackendChoice, LoadError, Snapshot};

#[derive(Clone, Default)]
pub struct EngineOptions {
    pub backend: BackendChoice,
    pub exposure_sink: Option<Arc<dyn ExposureSink>>,
    /// Run a version's `test` blocks before it is installed (sources are
    /// then compiled with their tests): a version whose tests fail is
    /// refused like one that does not compile, and the last good one stays.
    pub run_tests: bool,
}

pub struct Engine {
    current: ArcSwap<Snapshot>,
    pub(crate) options: EngineOptions,
    versions: AtomicU64,
    #[cfg(feature = "source")]
    pub(crate) source: Option<std::sync::Mutex<crate::source::Source>>,
}

impl Engine {
    /// An engine over a validated bundle (`vexil_ir::validate`, or
    /// `Bundle::from_json`, or a compiled project's bundle).
    pub fn from_bundle(bundle: ValidBundle, options: EngineOptions) -> Result<Engine, LoadError> {
        let snapshot = Snapshot::new(bundle, options.backend, options.exposure_sink.clone(), 1)?;
        admit(&options, &snapshot)?;
        Ok(Engine {
            current: ArcSwap::from_pointee(snapshot),
            options,
            versions: AtomicU64::new(1),
            #[cfg(feature = "source")]
            source: None,
        })
    }

    /// Load a bundle written by `vexil build`.
    pub fn from_bundle_file(
        path: &std::path::Path,
        options: EngineOptions,
    ) -> Result<Engine, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Io(format!("cannot read `{}`: {e}", path.display())))?;
        let bundle = Bundle::from_json(&text).map_err(LoadError::Bundle)?;
        Engine::from_bundle(bundle, options)
    }

    /// The current snapshot, cheaply (no reference count in the common case).
    /// Take one per request and evaluate every flag against it.
    #[inline]
    pub fn current(&self) -> Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The current snapshot as an `Arc`, to keep beyond a request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Which backend evaluates: `"interpreter"` or `"jit"`.
    pub fn backend_name(&self) -> &'static str {
        self.current.load().backend_name()
    }

    /// `None` when the current version runs as compiled code; otherwise
    /// why not (see `Snapshot::why_interpreted`).
    pub fn why_interpreted(&self) -> Option<String> {
        self.current.load().why_interpreted().map(str::to_string)
    }

    /// Swap in a new version. On error (including failing tests, with
    /// `run_tests`) the current version stays.
    pub fn install(&self, bundle: ValidBundle) -> Result<u64, LoadError> {
        let version = self.versions.load(Ordering::Relaxed) + 1;
        let snapshot = Snapshot::new(
            bundle,
            self.options.backend,
            self.options.exposure_sink.clone(),
            version,
        )?;
        admit(&self.options, &snapshot)?;
        self.versions.store(version, Ordering::Relaxed);
        self.current.store(Arc::new(snapshot));
        Ok(version)
    }

    /// Evaluate one flag at the current time, with owned details. Here and
    /// in the typed getters the clock is read only for a flag whose
    /// outcome can depend on it (time windows, `now`), and for experiments.
    pub fn evaluate(&self, name: &str, ctx: &Context) -> Details {
        self.current
            .load()
            .evaluate_at(name, ctx, At::Clock)
            .to_details()
    }

    pub fn bool_value(&self, name: &str, ctx: &Context, default: bool) -> bool {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::bool)
    }

    pub fn string_value(&self, name: &str, ctx: &Context, default: &str) -> String {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default.to_string(), pick::string)
    }

    pub fn int_value(&self, name: &str, ctx: &Context, default: i64) -> i64 {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::int)
    }

    pub fn float_value(&self, name: &str, ctx: &Context, default: f64) -> f64 {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::float)
    }

    pub fn json_value(
        &self,
        name: &str,
        ctx: &Context,
        default: serde_json::Value,
    ) -> serde_json::Value {
        self.current
            .load()
            .typed(name, ctx, At::Clock, default, pick::json)
    }
}

/// With `run_tests`, refuse a version whose own tests fail.
fn admit(options: &EngineOptions, snapshot: &Snapshot) -> Result<(), LoadError> {
    if !options.run_tests {
        return Ok(());
    }
    let tests = &snapshot.bundle().tests;
    let results = crate::testing::run_tests(snapshot, tests, vexil_ir::value::now_micros());
    let failed: Vec<_> = results.into_iter().filter(|r| !r.passed()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(LoadError::TestsFailed {
        failed: failed.len(),
        rendered: crate::testing::render_failures(&failed),
    })
}

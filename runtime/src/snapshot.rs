//! A snapshot: one loaded version of the flags. Immutable, shared by every
//! thread evaluating it; a reload builds a new snapshot and swaps it in.

use std::borrow::Cow;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use vexil_ir::bucket::IntText;
use vexil_ir::{ErrorCode, FlagValue, Reason, ValidBundle, ValueType};

use crate::backend::Backend;
use crate::context::{Context, Layout, MISSING};
use crate::exposure::{Exposure, ExposureSink};
use crate::interp::Interpreter;
use crate::outcome::{Detail, Evaluation, Outcome};
use crate::overrides::{OverrideSpec, Overrides};
use crate::unmatched::ContextStats;

/// A flag or an experiment, resolved by name once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The flag at this index in the bundle's `flags`.
    Flag(u32),
    /// The experiment at this index in the bundle's `experiments`.
    Experiment(u32),
}

/// When an evaluation happens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At {
    /// This instant, in microseconds since the epoch.
    Time(i64),
    /// The clock's time, read only if the target can depend on it.
    Clock,
}

/// Which backend evaluates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// Machine code when this build and host can, else the interpreter.
    /// Tiered: the load returns at once and the interpreter answers while
    /// worker threads compile every flag, each swapped in when ready (the
    /// outcomes are the same); [`Snapshot::wait_compiled`] waits for them.
    #[default]
    Auto,
    /// The reference interpreter, always available.
    Interpreter,
    /// Machine code for every flag, compiled before the load returns (on
    /// the loading thread), or fail to load.
    Jit,
}

/// Why a version could not be loaded; the engine keeps the last good one.
#[derive(Debug)]
pub enum LoadError {
    /// The bundle is not valid (`vexil_ir::validate`); nothing else refuses
    /// a program.
    Bundle(vexil_ir::BundleError),
    /// Compiled code was requested but is not available here (or, a bug,
    /// code generation failed).
    JitUnavailable(String),
    /// The sources do not compile.
    Compile {
        /// The rendered diagnostics.
        rendered: String,
        /// How many of them are errors.
        errors: usize,
    },
    /// The version's own `test` blocks fail (see
    /// [`EngineOptions::run_tests`](crate::EngineOptions::run_tests)).
    TestsFailed {
        /// How many tests failed.
        failed: usize,
        /// Each failing test and expectation, one per line.
        rendered: String,
    },
    /// A file or directory could not be read, or a source cannot reload.
    Io(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Bundle(e) => e.fmt(f),
            LoadError::JitUnavailable(e) => write!(f, "compiled evaluation is not available: {e}"),
            LoadError::Compile { rendered, errors } => {
                let errors = vexil_words::count(*errors, "error");
                write!(f, "the flags do not compile ({errors}):\n{rendered}")
            }
            LoadError::TestsFailed { failed, rendered } => {
                write!(f, "the flags' tests fail ({failed} failed):\n{rendered}")
            }
            LoadError::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for LoadError {}

/// The backend of a snapshot, as an enum rather than a `dyn Backend` so
/// that evaluation calls it directly (and may inline it).
pub(crate) enum Evaluator {
    Interpreter(Interpreter),
    #[cfg(feature = "jit")]
    Jit(crate::jit::Jit),
}

impl Evaluator {
    fn as_backend(&self) -> &dyn Backend {
        match self {
            Evaluator::Interpreter(i) => i,
            #[cfg(feature = "jit")]
            Evaluator::Jit(j) => j,
        }
    }
}

/// One loaded version of the flags: the bundle, its context layout and
/// its backend. Immutable; evaluate every flag of a request against one.
pub struct Snapshot {
    bundle: Arc<ValidBundle>,
    layout: Arc<Layout>,
    /// Shared with the snapshots `with_overrides` makes of this one.
    backend: Arc<Evaluator>,
    /// Flag and experiment names. Fx: the keys come from the bundle, and a
    /// lookup is on every by-name evaluation (a third of SipHash's cost).
    names: Arc<FxHashMap<String, Target>>,
    /// Per flag: whether its outcome can depend on the time (see
    /// `Bundle::flags_reading_clock`).
    flag_reads_clock: Arc<[bool]>,
    /// Per flag: its guarded staged rule, whose units are exposed (see
    /// `GuardedRule`); empty when the bundle has none.
    guarded: Arc<[Option<GuardedRule>]>,
    /// Run-time overrides, checked before the backend (see `overrides.rs`).
    overrides: Option<Arc<Overrides>>,
    /// Why evaluation is not on compiled code, when it is not.
    why_interpreted: Option<String>,
    sink: Option<Arc<dyn ExposureSink>>,
    version: u64,
}

impl Snapshot {
    /// Load a validated bundle on `choice`'s backend; fails only when
    /// compiled code is asked for and not available. Exposures of
    /// experiments go to `sink`; `version` is what
    /// [`version`](Snapshot::version) reports (an [`Engine`](crate::Engine)
    /// counts its loads).
    pub fn new(
        bundle: ValidBundle,
        choice: BackendChoice,
        sink: Option<Arc<dyn ExposureSink>>,
        version: u64,
    ) -> Result<Snapshot, LoadError> {
        let bundle = Arc::new(bundle);
        let (backend, why_interpreted) = make_backend(&bundle, choice)?;
        let mut names = FxHashMap::default();
        names.reserve(bundle.flags.len() + bundle.experiments.len());
        for (i, f) in bundle.flags.iter().enumerate() {
            names.insert(f.name.clone(), Target::Flag(i as u32));
        }
        for (i, e) in bundle.experiments.iter().enumerate() {
            names.insert(e.name.clone(), Target::Experiment(i as u32));
        }
        Ok(Snapshot {
            flag_reads_clock: bundle.flags_reading_clock().into(),
            guarded: GuardedRule::of(&bundle),
            why_interpreted,
            layout: Arc::new(Layout::new(&bundle.schema)),
            bundle,
            backend: Arc::new(backend),
            names: Arc::new(names),
            overrides: None,
            sink,
            version,
        })
    }

    /// This version with `overrides` in place of any it had: the same
    /// compiled code, shared, with each override checked before it. An
    /// override whose flag, variant or rule this version does not have is
    /// left out and reported in [`Overrides::problems`].
    pub fn with_overrides(&self, overrides: &[OverrideSpec]) -> Snapshot {
        let table = Overrides::resolve(&self.bundle, |name| self.target(name), overrides);
        Snapshot {
            bundle: Arc::clone(&self.bundle),
            layout: Arc::clone(&self.layout),
            backend: Arc::clone(&self.backend),
            names: Arc::clone(&self.names),
            flag_reads_clock: Arc::clone(&self.flag_reads_clock),
            guarded: Arc::clone(&self.guarded),
            why_interpreted: self.why_interpreted.clone(),
            overrides: Some(Arc::new(table)),
            sink: self.sink.clone(),
            version: self.version,
        }
    }

    /// The overrides in place, with those that did not apply.
    pub fn overrides(&self) -> Option<&Overrides> {
        self.overrides.as_deref()
    }

    /// Whether an override decides `target`.
    pub fn is_overridden(&self, target: Target) -> bool {
        self.overrides
            .as_ref()
            .is_some_and(|o| o.get(target).is_some_and(|a| a.info.is_some()))
    }

    /// The index every context gets from `target`'s override, when it has
    /// one that does not depend on the context.
    pub(crate) fn fixed_override(&self, target: Target) -> Option<Option<u32>> {
        let applied = self.overrides.as_ref()?.get(target)?;
        Some(applied.fixed())
    }

    /// The loaded program.
    pub fn bundle(&self) -> &ValidBundle {
        &self.bundle
    }

    /// The path flag `name`'s evaluation takes for `ctx` (built from this
    /// snapshot's layout) at `now`, step by step: which rule matched and
    /// why each earlier one did not. Run on an interpreter prepared for the
    /// call, so slow (about a millisecond per thousand flags) and never on
    /// an evaluation's path. `json`, the context as given, lets it quote
    /// the context's values. `None` for a name that is no flag of this
    /// version. The flags as compiled: an override is not in it (see
    /// [`overrides`](Snapshot::overrides)).
    pub fn explain(
        &self,
        name: &str,
        ctx: &Context,
        json: Option<&serde_json::Value>,
        now: i64,
    ) -> Option<crate::Explanation> {
        let index = self.bundle.flags.iter().position(|f| f.name == name)?;
        let interpreter = crate::interp::Interpreter::new(&self.bundle);
        interpreter.explain_flag(&self.bundle, u32::try_from(index).ok()?, ctx, json, now)
    }

    /// Where the schema's fields live: build this version's contexts
    /// from it.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Count the unknown contexts and fields of contexts built from this
    /// snapshot's layout in `stats` (the engine's, which outlive reloads).
    /// Called on a snapshot just made, whose layout is not shared yet.
    pub(crate) fn count_contexts_in(mut self, stats: &Arc<ContextStats>) -> Snapshot {
        if let Some(layout) = Arc::get_mut(&mut self.layout) {
            layout.count_in(stats.clone());
        }
        self
    }

    /// Counts up by one with each successful load of an engine.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Which backend evaluates: `"interpreter"` or `"jit"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.as_backend().name()
    }

    /// `None` when flags run as compiled code; otherwise why not: the
    /// interpreter was asked for, or this build or host cannot run compiled
    /// code (`BackendChoice::Auto` then uses the interpreter and says so
    /// here).
    pub fn why_interpreted(&self) -> Option<&str> {
        match &*self.backend {
            #[cfg(feature = "jit")]
            Evaluator::Jit(jit) => jit.compile_error().map(|_| {
                "code generation failed for some flags (a bug): they run on the interpreter"
            }),
            _ => self.why_interpreted.as_deref(),
        }
    }

    /// Block until every flag and experiment runs as compiled code: at
    /// once unless the snapshot was loaded with [`BackendChoice::Auto`]
    /// and its background compilation is still going (see
    /// [`BackendChoice`]). Evaluations need not wait: until then, the
    /// interpreter answers them, exactly alike. `Err` (a bug in code
    /// generation) says why some flags stay on the interpreter.
    pub fn wait_compiled(&self) -> Result<(), String> {
        match &*self.backend {
            #[cfg(feature = "jit")]
            Evaluator::Jit(jit) => jit.wait_compiled(),
            Evaluator::Interpreter(_) => Ok(()),
        }
    }

    /// Whether nothing is left to compile: false only while a
    /// [`BackendChoice::Auto`] load's background compilation runs.
    pub fn is_compiled(&self) -> bool {
        match &*self.backend {
            #[cfg(feature = "jit")]
            Evaluator::Jit(jit) => jit.is_compiled(),
            Evaluator::Interpreter(_) => true,
        }
    }

    pub(crate) fn evaluator(&self) -> &Evaluator {
        &self.backend
    }

    /// The flag or experiment named `name`, resolved once.
    pub fn target(&self, name: &str) -> Option<Target> {
        self.names.get(name).copied()
    }

    /// Every flag and experiment, flags first, each in name order.
    pub fn targets(&self) -> impl Iterator<Item = (&str, Target)> {
        let flags = self
            .bundle
            .flags
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), Target::Flag(i as u32)));
        let experiments = self
            .bundle
            .experiments
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), Target::Experiment(i as u32)));
        flags.chain(experiments)
    }

    /// The raw outcome, as a backend computed it (no exposure emitted).
    #[inline]
    pub fn outcome(&self, target: Target, ctx: &Context, now: i64) -> Outcome {
        if ctx.layout_id() != self.layout.id() {
            return Outcome::error(self.fallback_index(target), ErrorCode::InvalidContext, None);
        }
        if let Some(applied) = self.overrides.as_ref().and_then(|o| o.get(target)) {
            return applied.outcome(target, ctx, now);
        }
        match (&*self.backend, target) {
            (Evaluator::Interpreter(b), Target::Flag(i)) => b.flag(i, ctx, now),
            (Evaluator::Interpreter(b), Target::Experiment(i)) => b.experiment(i, ctx, now),
            #[cfg(feature = "jit")]
            (Evaluator::Jit(b), Target::Flag(i)) => b.flag(i, ctx, now),
            #[cfg(feature = "jit")]
            (Evaluator::Jit(b), Target::Experiment(i)) => b.experiment(i, ctx, now),
        }
    }

    /// The value a target serves on a context it cannot read: the flag's
    /// default, the experiment's control (0 for a target not in the
    /// bundle, whose outcome is `FLAG_NOT_FOUND`).
    pub(crate) fn fallback_index(&self, target: Target) -> u32 {
        match target {
            Target::Flag(i) => self.bundle.flags.get(i as usize).map(|f| f.default),
            Target::Experiment(i) => self.bundle.experiments.get(i as usize).map(|x| x.control),
        }
        .unwrap_or(0)
    }

    /// Evaluate a flag or experiment by name at `now` (microseconds since
    /// the epoch); emits an exposure for an enrolment.
    pub fn evaluate(&self, name: &str, ctx: &Context, now: i64) -> Evaluation<'_> {
        self.evaluate_at(name, ctx, At::Time(now))
    }

    /// Whether evaluating `target` can depend on the time. Experiments
    /// always do: their exposures carry it.
    pub fn reads_clock(&self, target: Target) -> bool {
        match target {
            Target::Flag(i) => self
                .flag_reads_clock
                .get(i as usize)
                .copied()
                .unwrap_or(true),
            Target::Experiment(_) => true,
        }
    }

    /// `evaluate`, reading the clock only for a target that needs it (the
    /// clock costs more than a compiled flag). A flag that does not read
    /// it is evaluated at time 0, which nothing it computes can see.
    pub(crate) fn evaluate_at(&self, name: &str, ctx: &Context, at: At) -> Evaluation<'_> {
        match self.names.get_key_value(name) {
            Some((key, target)) => {
                let now = match at {
                    At::Time(t) => t,
                    At::Clock if self.reads_clock(*target) => vexil_ir::value::now_micros(),
                    At::Clock => 0,
                };
                self.evaluate_target(*target, ctx, now).with_key(key)
            }
            None => Evaluation::not_found(name).into_static_key(),
        }
    }

    /// Evaluate a resolved target; emits an exposure for an enrolment.
    pub fn evaluate_target(&self, target: Target, ctx: &Context, now: i64) -> Evaluation<'_> {
        self.evaluate_exposing(target, ctx, now, true)
    }

    /// `evaluate_target` without an exposure: for a caller that reports
    /// exposures itself when it shows the variant (a browser rendering a
    /// server's evaluation), so that a unit evaluated but never shown a
    /// variant is not counted in the experiment.
    pub fn evaluate_target_unexposed(
        &self,
        target: Target,
        ctx: &Context,
        now: i64,
    ) -> Evaluation<'_> {
        self.evaluate_exposing(target, ctx, now, false)
    }

    /// `evaluate` without an exposure: a `test` block's contexts are no
    /// unit's, and must never reach the sink (a server runs every version's
    /// tests before serving it).
    pub(crate) fn evaluate_unexposed(&self, name: &str, ctx: &Context, now: i64) -> Evaluation<'_> {
        match self.names.get_key_value(name) {
            Some((key, target)) => self
                .evaluate_exposing(*target, ctx, now, false)
                .with_key(key),
            None => Evaluation::not_found(name).into_static_key(),
        }
    }

    fn evaluate_exposing(
        &self,
        target: Target,
        ctx: &Context,
        now: i64,
        exposing: bool,
    ) -> Evaluation<'_> {
        let out = self.outcome(target, ctx, now);
        let layout_mismatch = ctx.layout_id() != self.layout.id();
        let applied = self.overrides.as_ref().and_then(|o| o.get(target));
        let overridden = applied
            .filter(|_| !layout_mismatch)
            .and_then(|a| a.info.as_ref());
        match target {
            Target::Flag(i) => {
                let Some(flag) = self.bundle.flags.get(i as usize) else {
                    return Evaluation::not_found("").into_static_key();
                };
                let served = flag.values.get(out.value as usize);
                // An override's own value, one past the flag's.
                let extra = match served {
                    None if overridden.is_some() => applied.and_then(|a| a.extra()),
                    _ => None,
                };
                if exposing && applied.is_none() {
                    if let (Some(sink), Some(Some(g))) = (&self.sink, self.guarded.get(i as usize))
                    {
                        self.expose_rollout(sink.as_ref(), g, &out, ctx, now);
                    }
                }
                let served = served.or(if extra.is_some() {
                    None
                } else {
                    flag.values.get(flag.default as usize)
                });
                Evaluation {
                    key: &flag.name,
                    value: served.map(|v| &v.value).or(extra),
                    variant: served.and_then(|v| v.variant.as_deref()),
                    reason: out.reason,
                    rule: out.rule.map(|r| {
                        (
                            r,
                            flag.rules
                                .get(r as usize)
                                .and_then(|rule| rule.name.as_deref()),
                        )
                    }),
                    error: out.error,
                    detail: self.detail(&out, layout_mismatch),
                    overridden,
                }
            }
            Target::Experiment(i) => {
                let Some(x) = self.bundle.experiments.get(i as usize) else {
                    return Evaluation::not_found("").into_static_key();
                };
                let variant = x.variants.get(out.value as usize);
                if exposing && out.reason == Reason::Split {
                    if let (Some(sink), Some(v)) = (&self.sink, variant) {
                        self.expose(sink.as_ref(), x, &v.name, ctx, now);
                    }
                }
                Evaluation {
                    key: &x.name,
                    value: variant.map(|v| &v.value),
                    variant: variant.map(|v| v.name.as_str()),
                    reason: out.reason,
                    rule: None,
                    error: out.error,
                    detail: self.detail(&out, layout_mismatch),
                    overridden,
                }
            }
        }
    }

    /// A guarded staged rule's exposure: the unit reached the rule (no
    /// earlier rule served it, no error, the flag is on and its
    /// prerequisites hold), and the bucket says on which side of the stage
    /// in force it is, whether or not the rule's condition holds, so the
    /// two sides are alike but for the rollout (see `vexil_events::rollout`).
    fn expose_rollout(
        &self,
        sink: &dyn ExposureSink,
        g: &GuardedRule,
        out: &Outcome,
        ctx: &Context,
        now: i64,
    ) {
        let reached = out.error.is_none()
            && out.detail.is_none()
            && out.reason != Reason::Disabled
            && out.rule.is_none_or(|r| r >= g.rule);
        let Some(stage) = vexil_ir::stage_at(&g.stages, now).filter(|_| reached) else {
            return;
        };
        let (Some(key), Some(cut)) = (g.keys.get(stage), g.stages.get(stage)) else {
            return;
        };
        if cut.buckets == 0 || cut.buckets >= vexil_ir::bucket::BUCKETS {
            return;
        }
        let slot = ctx.slot(g.bucketing.unit);
        if slot.tag == MISSING {
            return;
        }
        let unit = if g.int_unit {
            Cow::Owned(IntText::new(slot.a as i64).as_str().to_owned())
        } else {
            Cow::Borrowed(ctx.str_of(slot))
        };
        let bucket = vexil_ir::bucket::bucket(&g.bucketing.salt, &unit);
        let variant = if bucket < cut.buckets { "new" } else { "old" };
        sink.record(&Exposure {
            experiment: key,
            variant,
            unit,
            time: now,
        });
    }

    fn expose(
        &self,
        sink: &dyn ExposureSink,
        x: &vexil_ir::Experiment,
        variant: &str,
        ctx: &Context,
        now: i64,
    ) {
        let slot = ctx.slot(x.bucketing.unit);
        if slot.tag == MISSING {
            return;
        }
        let is_int = matches!(
            self.layout.info(x.bucketing.unit).map(|i| &i.ty),
            Some(vexil_ir::FieldType::Int)
        );
        let unit = if is_int {
            Cow::Owned(IntText::new(slot.a as i64).as_str().to_owned())
        } else {
            Cow::Borrowed(ctx.str_of(slot))
        };
        sink.record(&Exposure {
            experiment: &x.name,
            variant,
            unit,
            time: now,
        });
    }

    fn detail(&self, out: &Outcome, layout_mismatch: bool) -> Option<Detail<'_>> {
        if layout_mismatch {
            return Some(Detail::Message(
                "the context was built for another schema; build contexts from this snapshot's layout",
            ));
        }
        let d = out.detail?;
        match out.error {
            Some(ErrorCode::InvalidContext | ErrorCode::TargetingKeyMissing) => {
                self.layout.info(d).map(Detail::Field)
            }
            Some(ErrorCode::General) => Some(Detail::Message("prerequisites chain too deeply")),
            Some(_) => None,
            None => self
                .bundle
                .flags
                .get(d as usize)
                .map(|f| Detail::Prerequisite(f.name.as_str())),
        }
    }

    /// Every flag and experiment for one context.
    pub fn evaluate_all(&self, ctx: &Context, now: i64) -> Vec<Evaluation<'_>> {
        self.targets()
            .map(|(_, t)| self.evaluate_target(t, ctx, now))
            .collect()
    }

    /// The value as a `T`, or `default` on any error or type mismatch.
    pub(crate) fn typed<T>(
        &self,
        name: &str,
        ctx: &Context,
        at: At,
        default: T,
        pick: fn(&FlagValue) -> Option<T>,
    ) -> T {
        let e = self.evaluate_at(name, ctx, at);
        match (e.error, e.value) {
            (None, Some(v)) => pick(v).unwrap_or(default),
            _ => default,
        }
    }

    /// A bool flag's value at `now`, or `default` on any error or when the
    /// flag serves another type.
    pub fn bool_value(&self, name: &str, ctx: &Context, now: i64, default: bool) -> bool {
        self.typed(name, ctx, At::Time(now), default, pick::bool)
    }

    /// A string flag's value, as [`bool_value`](Snapshot::bool_value).
    pub fn string_value(&self, name: &str, ctx: &Context, now: i64, default: &str) -> String {
        self.typed(name, ctx, At::Time(now), default.to_string(), pick::string)
    }

    /// An int flag's value, as [`bool_value`](Snapshot::bool_value).
    pub fn int_value(&self, name: &str, ctx: &Context, now: i64, default: i64) -> i64 {
        self.typed(name, ctx, At::Time(now), default, pick::int)
    }

    /// A float flag's value (an int value serves too), as
    /// [`bool_value`](Snapshot::bool_value).
    pub fn float_value(&self, name: &str, ctx: &Context, now: i64, default: f64) -> f64 {
        self.typed(name, ctx, At::Time(now), default, pick::float)
    }

    /// A JSON flag's value, as [`bool_value`](Snapshot::bool_value).
    pub fn json_value(
        &self,
        name: &str,
        ctx: &Context,
        now: i64,
        default: serde_json::Value,
    ) -> serde_json::Value {
        self.typed(name, ctx, At::Time(now), default, pick::json)
    }

    /// Details for a typed request: `TYPE_MISMATCH` when the flag serves
    /// another type (the OpenFeature contract).
    pub fn evaluate_as(
        &self,
        name: &str,
        ctx: &Context,
        now: i64,
        ty: ValueType,
    ) -> Evaluation<'_> {
        let mut e = self.evaluate(name, ctx, now);
        let matches = match (e.value, ty) {
            (Some(FlagValue::Int(_)), ValueType::Float) => true,
            (Some(v), ty) => v.value_type() == ty,
            (None, _) => true,
        };
        if e.error.is_none() && !matches {
            e.reason = Reason::Error;
            e.error = Some(ErrorCode::TypeMismatch);
        }
        e
    }
}

/// A served value as each typed getter wants it.
pub(crate) mod pick {
    use vexil_ir::FlagValue;

    pub fn bool(v: &FlagValue) -> Option<bool> {
        match v {
            FlagValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn string(v: &FlagValue) -> Option<String> {
        match v {
            FlagValue::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn int(v: &FlagValue) -> Option<i64> {
        match v {
            FlagValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// An int value serves a float request (the checker allows int
    /// literals for float flags).
    pub fn float(v: &FlagValue) -> Option<f64> {
        match v {
            FlagValue::Float(f) => Some(*f),
            FlagValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn json(v: &FlagValue) -> Option<serde_json::Value> {
        match v {
            FlagValue::Json(j) => Some(j.clone()),
            _ => None,
        }
    }
}

/// The backend, and why it is not compiled code when it is not.
fn make_backend(
    bundle: &Arc<ValidBundle>,
    choice: BackendChoice,
) -> Result<(Evaluator, Option<String>), LoadError> {
    let interpreter = |why: String| -> Result<(Evaluator, Option<String>), LoadError> {
        Ok((Evaluator::Interpreter(Interpreter::new(bundle)), Some(why)))
    };
    match choice {
        BackendChoice::Interpreter => interpreter("the interpreter was chosen".to_string()),
        BackendChoice::Jit => jit_backend(bundle, false).map(|b| (b, None)),
        // Machine code when the host can run it. A host without a JIT is
        // the only reason to use the interpreter here: the JIT refuses no
        // valid bundle, and a code generation failure is a bug to report,
        // not to hide.
        BackendChoice::Auto => match jit_status() {
            Ok(()) => jit_backend(bundle, true).map(|b| (b, None)),
            Err(why) => interpreter(why),
        },
    }
}

/// Whether this build, on this host, can run flags as compiled code; `Err`
/// says why not (`BackendChoice::Auto` then uses the interpreter).
pub fn jit_status() -> Result<(), String> {
    #[cfg(feature = "jit")]
    {
        crate::jit::available()
            .map_err(|e| format!("compiled code is not available on this host: {e}"))
    }
    #[cfg(not(feature = "jit"))]
    {
        Err("this build of vexil-runtime has no `jit` feature".to_string())
    }
}

/// Compiled code: compiled now, or (`background`) by worker threads while
/// the interpreter answers.
#[cfg(feature = "jit")]
fn jit_backend(bundle: &Arc<ValidBundle>, background: bool) -> Result<Evaluator, LoadError> {
    use crate::jit::{Jit, JitError};
    let jit = if background {
        Jit::background(Arc::clone(bundle))
    } else {
        Jit::new(bundle)
    };
    match jit {
        Ok(jit) => Ok(Evaluator::Jit(jit)),
        Err(JitError::Unavailable(e)) => Err(LoadError::JitUnavailable(e)),
    }
}

#[cfg(not(feature = "jit"))]
fn jit_backend(_bundle: &Arc<ValidBundle>, _background: bool) -> Result<Evaluator, LoadError> {
    Err(LoadError::JitUnavailable(
        "this build of vexil-runtime has no `jit` feature".to_string(),
    ))
}

impl<'s> Evaluation<'s> {
    fn with_key(mut self, key: &'s str) -> Self {
        self.key = key;
        self
    }
}

impl Evaluation<'_> {
    fn into_static_key(self) -> Evaluation<'static> {
        Evaluation {
            key: "",
            value: None,
            variant: None,
            reason: self.reason,
            rule: None,
            error: self.error,
            detail: None,
            overridden: None,
        }
    }
}

/// A flag's staged rule with guardrails: `vexil serve`'s monitor compares
/// the units each stage serves with those it holds back, so their
/// evaluations are exposures, of `rollout:FLAG:RULE:STAGE` with variant
/// `new` or `old` (`vexil_events::rollout::exposure_key`).
struct GuardedRule {
    /// The rule's index among the flag's rules.
    rule: u32,
    stages: Vec<vexil_ir::Stage>,
    bucketing: vexil_ir::Bucketing,
    int_unit: bool,
    /// Per stage, its exposure key.
    keys: Vec<String>,
}

impl GuardedRule {
    fn of(bundle: &ValidBundle) -> Arc<[Option<GuardedRule>]> {
        let any = bundle
            .flags
            .iter()
            .any(|f| f.rules.iter().any(|r| r.guardrails.is_some()));
        if !any {
            return Arc::from(Vec::new());
        }
        bundle
            .flags
            .iter()
            .map(|f| {
                f.rules.iter().enumerate().find_map(|(i, r)| {
                    let vexil_ir::RuleResult::Staged {
                        stages, bucketing, ..
                    } = &r.result
                    else {
                        return None;
                    };
                    r.guardrails.as_ref()?;
                    let rule = r.name.clone().unwrap_or_else(|| (i + 1).to_string());
                    Some(GuardedRule {
                        rule: i as u32,
                        stages: stages.clone(),
                        bucketing: bucketing.clone(),
                        int_unit: bundle
                            .schema
                            .field_at(bucketing.unit)
                            .is_some_and(|(_, f)| matches!(f.ty, vexil_ir::FieldType::Int)),
                        keys: (1..=stages.len())
                            .map(|n| format!("rollout:{}:{rule}:{n}", f.name))
                            .collect(),
                    })
                })
            })
            .collect()
    }
}

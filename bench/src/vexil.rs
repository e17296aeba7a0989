//! Vexil's own evaluators, `interp` and `jit`, on the workload's flags as
//! written in `bench/workload/workload.flag`, compiled by Vexil's compiler.
//!
//! A user becomes a `vexil_runtime::Context` through the runtime's typed
//! builder, with the eight field handles resolved once at load: strings
//! copied into the context's arena, `plan` an enum index, `app_version`
//! parsed and packed, `created_at` parsed to microseconds. Each flag is
//! prepared once at load (`Snapshot::prepare`, the runtime's handle for a
//! hot path) and evaluated with `Prepared::value_index`: the served value's
//! index, no exposure (F5 is an experiment, and an exposure sink would be
//! called for enrolled users through `evaluate_target`; the bench
//! configures none). The index maps to an `Answer` through a table built
//! at load.

use std::path::PathBuf;
use std::sync::Arc;

use vexil_runtime::ir::ValidBundle;
use vexil_runtime::{BackendChoice, Context, FieldHandle, FlagValue, Prepared, Snapshot, Target};

use crate::engine::{BenchError, WorkloadEngine};
use crate::user::UserRecord;
use crate::workload::{crate_path, Answer, Flag};

/// The workload's flags in Vexil, compiled by Vexil's compiler.
pub fn workload_bundle() -> Result<ValidBundle, BenchError> {
    let dir = crate_path("workload");
    let project = vexil_compiler::Project::from_dir(&dir).map_err(|e| BenchError::Read {
        path: PathBuf::from(&dir),
        source: e.error,
    })?;
    project.bundle(false).map_err(|d| BenchError::Config {
        engine: "vexil",
        message: project.render(&d, false),
    })
}

/// The eight fields of a workload user, resolved once.
#[derive(Clone, Copy, Debug)]
pub struct UserFields {
    pub id: FieldHandle,
    pub email: FieldHandle,
    pub country: FieldHandle,
    pub plan: FieldHandle,
    pub age: FieldHandle,
    pub app_version: FieldHandle,
    pub beta: FieldHandle,
    pub created_at: FieldHandle,
}

impl UserFields {
    pub fn resolve(snapshot: &Snapshot) -> Result<UserFields, BenchError> {
        let layout = snapshot.layout();
        let field = |name: &'static str| {
            layout.field("user", name).ok_or(BenchError::Config {
                engine: "vexil",
                message: format!("the schema has no `user.{name}`"),
            })
        };
        Ok(UserFields {
            id: field("id")?,
            email: field("email")?,
            country: field("country")?,
            plan: field("plan")?,
            age: field("age")?,
            app_version: field("app_version")?,
            beta: field("beta")?,
            created_at: field("created_at")?,
        })
    }
}

/// The plan's enum index, in `workload.flag`'s declaration order.
fn plan_index(plan: &str) -> Option<u32> {
    match plan {
        "free" => Some(0),
        "pro" => Some(1),
        "enterprise" => Some(2),
        _ => None,
    }
}

/// Fill `ctx` (empty, of the snapshot's layout) with one user's record.
pub fn fill(ctx: &mut Context, f: &UserFields, r: &UserRecord<'_>) {
    ctx.set_str(f.id, &r.id);
    ctx.set_str(f.email, &r.email);
    ctx.set_str(f.country, &r.country);
    match plan_index(&r.plan) {
        Some(i) => ctx.set_enum_index(f.plan, i),
        None => ctx.set_invalid(f.plan),
    }
    ctx.set_int(f.age, r.age);
    match semver::Version::parse(&r.app_version) {
        Ok(v) => ctx.set_semver(f.app_version, &v),
        Err(_) => ctx.set_invalid(f.app_version),
    }
    ctx.set_bool(f.beta, r.beta);
    match vexil_runtime::ir::value::parse_timestamp(&r.created_at) {
        Ok(t) => ctx.set_timestamp(f.created_at, t),
        Err(_) => ctx.set_invalid(f.created_at),
    }
}

/// One of Vexil's backends on the workload.
pub struct Vexil {
    snapshot: Arc<Snapshot>,
    fields: UserFields,
    /// Per flag, in `Flag::ALL` order: the flag prepared for evaluation
    /// and the answer of each value index.
    targets: [(Prepared, Vec<Answer>); 6],
    now: i64,
}

impl Vexil {
    pub fn load(choice: BackendChoice) -> Result<Vexil, BenchError> {
        let snapshot = Arc::new(Snapshot::new(workload_bundle()?, choice, None, 1).map_err(
            |e| BenchError::Config {
                engine: "vexil",
                message: e.to_string(),
            },
        )?);
        let fields = UserFields::resolve(&snapshot)?;
        let target = |flag: Flag| -> Result<(Prepared, Vec<Answer>), BenchError> {
            let t = snapshot.target(flag.key()).ok_or(BenchError::Config {
                engine: "vexil",
                message: format!("no flag `{}`", flag.key()),
            })?;
            let bundle = snapshot.bundle();
            let values: Vec<&FlagValue> = match t {
                Target::Flag(i) => bundle
                    .flags
                    .get(i as usize)
                    .map(|f| f.values.iter().map(|v| &v.value).collect())
                    .unwrap_or_default(),
                Target::Experiment(i) => bundle
                    .experiments
                    .get(i as usize)
                    .map(|x| x.variants.iter().map(|v| &v.value).collect())
                    .unwrap_or_default(),
            };
            let answers = values
                .into_iter()
                .map(|v| match v {
                    FlagValue::Bool(b) => Answer::Bool(*b),
                    FlagValue::String(s) => Answer::from_variant_name(s),
                    _ => Answer::Unexpected,
                })
                .collect();
            Ok((snapshot.prepare(t), answers))
        };
        Ok(Vexil {
            targets: [
                target(Flag::F1)?,
                target(Flag::F2)?,
                target(Flag::F3)?,
                target(Flag::F4)?,
                target(Flag::F5)?,
                target(Flag::F6)?,
            ],
            fields,
            // The workload's flags do not depend on the time.
            now: vexil_runtime::now(),
            snapshot,
        })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    fn prepare_context(&self, request: &str) -> Result<Context, BenchError> {
        let record = UserRecord::parse(request)?;
        let mut ctx = self.snapshot.layout().context();
        fill(&mut ctx, &self.fields, &record);
        Ok(ctx)
    }

    #[inline(always)]
    fn answer(&self, flag: Flag, ctx: &Context) -> Answer {
        let (prepared, answers) = &self.targets[flag as usize];
        let value = prepared.value_index(ctx, self.now);
        answers
            .get(value as usize)
            .copied()
            .unwrap_or(Answer::Unexpected)
    }
}

/// The reference interpreter.
pub struct Interp(Vexil);

/// Flags compiled to machine code.
pub struct Jit(Vexil);

impl Interp {
    pub fn load() -> Result<Interp, BenchError> {
        Vexil::load(BackendChoice::Interpreter).map(Interp)
    }
}

impl Jit {
    pub fn load() -> Result<Jit, BenchError> {
        let v = Vexil::load(BackendChoice::Jit)?;
        Ok(Jit(v))
    }
}

impl WorkloadEngine for Interp {
    const NAME: &'static str = "interp";
    type Context = Context;

    fn prepare(&self, request: &str) -> Result<Context, BenchError> {
        self.0.prepare_context(request)
    }

    #[inline(always)]
    fn evaluate(&self, flag: Flag, ctx: &Context) -> Answer {
        self.0.answer(flag, ctx)
    }
}

impl WorkloadEngine for Jit {
    const NAME: &'static str = "jit";
    type Context = Context;

    fn prepare(&self, request: &str) -> Result<Context, BenchError> {
        self.0.prepare_context(request)
    }

    #[inline(always)]
    fn evaluate(&self, flag: Flag, ctx: &Context) -> Answer {
        self.0.answer(flag, ctx)
    }
}

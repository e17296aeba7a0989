//! Running the `test` blocks written beside the flags: what `vexil test`
//! runs, on a snapshot of either backend.

use vexil_ir::bucket::buckets_to_percent;
use vexil_ir::{
    stage_at, staged_buckets, Const, Expect, Location, RuleResult, StageExpect, TestCase, TestValue,
};

use crate::context::{Context, Layout};
use crate::outcome::Evaluation;
use crate::snapshot::Snapshot;

/// One `test` block's result.
#[derive(Clone, Debug, PartialEq)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// Where the test is written.
    pub location: Location,
    /// Its expectations that did not hold, in the order written.
    pub failures: Vec<Failure>,
}

impl TestResult {
    /// Every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// An expectation that did not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// Where the expectation is written.
    pub location: Location,
    /// The flag or experiment it evaluates.
    pub target: String,
    /// What it expects, in words (`value true`, ``variant `b` ``).
    pub expected: String,
    /// What the evaluation gave, in words (see [`describe`]).
    pub actual: String,
}

/// Build a test's context on `layout`.
pub fn test_context(layout: &Layout, test: &TestCase) -> Context {
    let mut ctx = layout.context();
    for field in &test.context {
        let Some(info) = layout.info(field.slot) else {
            continue;
        };
        let Some(h) = layout.field(&info.context, &info.name) else {
            continue;
        };
        match &field.value {
            TestValue::Scalar(c) => set_const(&mut ctx, h, c),
            TestValue::List(items) => {
                // Each item goes through its text form, parsed by the list's
                // element type: the path a service's own strings take.
                let enum_names = match &info.ty {
                    vexil_ir::FieldType::List(elem) => match elem.as_ref() {
                        vexil_ir::FieldType::Enum(names) => Some(names.as_slice()),
                        _ => None,
                    },
                    _ => None,
                };
                let texts: Vec<String> = items.iter().map(|c| const_text(c, enum_names)).collect();
                ctx.set_list_parsed(layout, h, texts.iter().map(String::as_str));
            }
        }
    }
    ctx
}

fn set_const(ctx: &mut Context, h: crate::FieldHandle, c: &Const) {
    match c {
        Const::Bool(b) => ctx.set_bool(h, *b),
        Const::Int(i) => ctx.set_int(h, *i),
        Const::Float(f) => ctx.set_float(h, *f),
        Const::String(s) => ctx.set_str(h, s),
        Const::Semver(v) => ctx.set_semver(h, &v.0),
        Const::Timestamp(t) => ctx.set_timestamp(h, *t),
        Const::Enum(i) => ctx.set_enum_index(h, *i),
        Const::Ip(ip) => ctx.set_ip(h, std::net::Ipv6Addr::from(ip.0).into()),
    }
}

fn const_text(c: &Const, enum_names: Option<&[String]>) -> String {
    match c {
        Const::Bool(b) => b.to_string(),
        Const::Int(i) => i.to_string(),
        Const::Float(f) => f.to_string(),
        Const::String(s) => s.clone(),
        Const::Semver(v) => v.to_string(),
        Const::Timestamp(t) => vexil_ir::value::format_timestamp(*t),
        Const::Enum(i) => enum_names
            .and_then(|n| n.get(*i as usize))
            .cloned()
            .unwrap_or_default(),
        Const::Ip(ip) => ip.to_string(),
    }
}

/// Run every test against `snapshot`; tests without `now` run at `default_now`.
pub fn run_tests(snapshot: &Snapshot, tests: &[TestCase], default_now: i64) -> Vec<TestResult> {
    tests
        .iter()
        .map(|t| {
            let ctx = test_context(snapshot.layout(), t);
            let now = t.now.unwrap_or(default_now);
            let mut failures = Vec::new();
            for e in &t.expectations {
                let outcome = match &e.expect {
                    // A function of the time alone: no evaluation.
                    Expect::Stage(stage) => check_stage(snapshot, &e.target, *stage, now),
                    other => check(other, &snapshot.evaluate_unexposed(&e.target, &ctx, now)),
                };
                if let Some((expected, actual)) = outcome {
                    failures.push(Failure {
                        location: e.location.clone(),
                        target: e.target.clone(),
                        expected,
                        actual,
                    });
                }
            }
            TestResult {
                name: t.name.clone(),
                location: t.location.clone(),
                failures,
            }
        })
        .collect()
}

/// `None` if the expectation holds, else (expected, actual) in words.
fn check(expect: &Expect, got: &Evaluation<'_>) -> Option<(String, String)> {
    let summary = describe(got);
    match expect {
        Expect::Value(v) => (got.value != Some(v)).then(|| (format!("value {v}"), summary)),
        Expect::Variant(name) => {
            (got.variant != Some(name.as_str())).then(|| (format!("variant `{name}`"), summary))
        }
        Expect::Reason(r) => {
            (got.reason != *r).then(|| (format!("reason {}", r.as_str()), summary))
        }
        Expect::Error(code) => {
            (got.error != Some(*code)).then(|| (format!("error {}", code.as_str()), summary))
        }
        Expect::Rule(rule) => {
            let matched = got.rule.is_some_and(|(index, name)| {
                name == Some(rule.as_str()) || rule.parse::<u32>().is_ok_and(|n| n == index + 1)
            });
            (!matched).then(|| (format!("rule `{rule}`"), summary))
        }
        // Checked by `check_stage`, from the bundle and the time, before
        // any evaluation; never reaches here.
        Expect::Stage(_) => None,
    }
}

/// `expect F stage ..`: the stage in force at `now` of the flag's first
/// staged rollout, a function of the time alone (no context).
fn check_stage(
    snapshot: &Snapshot,
    target: &str,
    stage: StageExpect,
    now: i64,
) -> Option<(String, String)> {
    let expected = match stage {
        StageExpect::Number(n) => format!("stage {n}"),
        StageExpect::Buckets(b) => format!("stage {}", buckets_to_percent(b)),
    };
    let bundle = snapshot.bundle();
    let stages = bundle
        .flag_index(target)
        .and_then(|i| bundle.flags.get(i))
        .and_then(|f| {
            f.rules.iter().find_map(|r| match &r.result {
                RuleResult::Staged { stages, .. } => Some(stages),
                _ => None,
            })
        });
    let Some(stages) = stages else {
        return Some((expected, format!("`{target}` has no staged rollout")));
    };
    let index = stage_at(stages, now);
    let buckets = staged_buckets(stages, now);
    let held = match stage {
        StageExpect::Number(n) => index.map_or(0, |i| i + 1) == n as usize,
        StageExpect::Buckets(b) => buckets == b,
    };
    let actual = match index {
        Some(i) => format!("stage {} ({})", i + 1, buckets_to_percent(buckets)),
        None => "stage 0 (not started)".to_string(),
    };
    (!held).then_some((expected, actual))
}

/// What an evaluation gave, in one line.
pub fn describe(e: &Evaluation<'_>) -> String {
    let mut parts = vec![match e.value {
        Some(v) => format!("value {v}"),
        None => "no value".to_string(),
    }];
    if let Some(v) = e.variant {
        parts.push(format!("variant `{v}`"));
    }
    parts.push(format!("reason {}", e.reason.as_str()));
    if let Some((index, name)) = e.rule {
        parts.push(match name {
            Some(n) => format!("rule `{n}`"),
            None => format!("rule {}", index + 1),
        });
    }
    if let Some(msg) = e.error_message() {
        parts.push(format!(
            "error {}: {msg}",
            e.error.map_or("", |c| c.as_str())
        ));
    }
    parts.join(", ")
}

/// Failing tests in text, as `vexil test` prints them (without colour).
pub fn render_failures(results: &[TestResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| !r.passed()) {
        out.push_str(&format!(
            "FAIL {} ({}:{})\n",
            r.name, r.location.file, r.location.line
        ));
        for f in &r.failures {
            out.push_str(&format!(
                "     {}:{}:{}: expect {}: {}\n       got {}\n",
                f.location.file, f.location.line, f.location.column, f.target, f.expected, f.actual
            ));
        }
    }
    out
}

//! Unleash's client specification for strategies without hashing and for
//! constraint operators (files 01, 02, 07, 11, 13, 14 and 22, copied
//! unchanged into `tests/conformance/unleash/`): every case, on both
//! backends. Each feature is written as a `.flag` file, each constraint as
//! the Vexil condition with Unleash's meaning:
//!
//! - a field the context lacks, or holds a value Unleash cannot read (a
//!   number, version or address that does not parse), makes the operator
//!   false, so `NOT_IN` holds and `inverted` turns it true: the conditions
//!   test presence (`is set`), so none is ever unknown, and a value that
//!   does not parse is left out of the context;
//! - `IN`/`NOT_IN` are `in`/`not in`, `STR_*` are `starts_with`,
//!   `ends_with` and `contains` (the `i` forms with `caseInsensitive`),
//!   any of the values; `NUM_*` compare floats; `SEMVER_*` compare
//!   versions by precedence; `IN_CIDR` is `in` a list of ranges, the
//!   entries that do not parse left out; `DATE_*` on `currentTime` compare
//!   `now`, which is the context's `currentTime`;
//! - a constraint value that does not parse, or an operator Unleash does
//!   not know, never matches; `inverted` is `not`;
//! - a strategy is a rule (`userWithId` a list of ids, a random rollout of
//!   0% or 100% `false` or `true`); the feature serves `true` when one
//!   matches, and when it is on with no strategy; an unknown feature is
//!   `false`.
//!
//! So the test checks what Vexil's operators do against Unleash's own
//! cases: string matching and its case folding, number, version
//! (pre-release precedence included) and address comparison, and time.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};
use vexil_compiler::Project;
use vexil_runtime::{BackendChoice, Snapshot};

const FILES: [&str; 7] = [
    "01-simple-examples.json",
    "02-user-with-id-strategy.json",
    "07-multiple-strategies.json",
    "11-strategy-constraints-edge-cases.json",
    "13-constraint-operators.json",
    "14-constraint-semver-operators.json",
    "22-cidr-constraint-operators.json",
];

/// Top-level fields of an Unleash context; the others are in `properties`.
const TOP_LEVEL: [&str; 5] = [
    "userId",
    "sessionId",
    "remoteAddress",
    "environment",
    "appName",
];

/// When a case gives no `currentTime`.
const DEFAULT_NOW: &str = "2026-12-01T00:00:00Z";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Str,
    Num,
    Semver,
    Ip,
}

impl Ty {
    fn vexil(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Num => "float",
            Ty::Semver => "semver",
            Ty::Ip => "ip",
        }
    }

    /// The context's value as this type's JSON, or `None` when Unleash
    /// could not read it either.
    fn read(self, raw: &Value) -> Option<Value> {
        let text = match raw {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        match self {
            Ty::Str => Some(json!(text)),
            Ty::Num => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| json!(n)),
            Ty::Semver => is_semver(&text).then(|| json!(text)),
            Ty::Ip => text.parse::<IpAddr>().ok().map(|_| json!(text)),
        }
    }
}

/// SemVer 2.0: `MAJOR.MINOR.PATCH`, numbers without leading zeros, then an
/// optional `-PRERELEASE` and `+BUILD` of dot-separated identifiers.
fn is_semver(text: &str) -> bool {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let number = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let identifiers = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// A range or an address `IN_CIDR` takes.
fn is_cidr(text: &str) -> bool {
    match text.split_once('/') {
        None => text.parse::<IpAddr>().is_ok(),
        Some((addr, len)) => match (addr.parse::<IpAddr>(), len.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(len)) => len <= 32,
            (Ok(IpAddr::V6(_)), Ok(len)) => len <= 128,
            _ => false,
        },
    }
}

fn string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One constraint as a condition; the fields it reads are added to
/// `fields`.
fn condition(c: &Value, fields: &mut BTreeMap<String, Ty>) -> String {
    let name = c["contextName"].as_str().unwrap();
    let op = c["operator"].as_str().unwrap();
    let values: Vec<String> = match (&c["values"], &c["value"]) {
        (Value::Array(vs), _) if !vs.is_empty() => {
            vs.iter().map(|v| v.as_str().unwrap().to_string()).collect()
        }
        (_, Value::String(v)) => vec![v.clone()],
        _ => Vec::new(),
    };
    let field = format!("ctx.{name}");
    let mut read = |ty: Ty| {
        fields.insert(name.to_string(), ty);
    };
    let any = |f: &dyn Fn(&str) -> String| {
        let tests: Vec<String> = values.iter().map(|v| f(v)).collect();
        format!("({field} is set and ({}))", tests.join(" or "))
    };
    let base = match op {
        "IN" if values.is_empty() => "false".to_string(),
        "NOT_IN" if values.is_empty() => "true".to_string(),
        "IN" | "NOT_IN" => {
            read(Ty::Str);
            let list: Vec<String> = values.iter().map(|v| string(v)).collect();
            if op == "IN" {
                format!("({field} is set and {field} in [{}])", list.join(", "))
            } else {
                format!(
                    "({field} is not set or {field} not in [{}])",
                    list.join(", ")
                )
            }
        }
        "STR_STARTS_WITH" | "STR_ENDS_WITH" | "STR_CONTAINS" => {
            read(Ty::Str);
            let word = match op {
                "STR_STARTS_WITH" => "starts_with",
                "STR_ENDS_WITH" => "ends_with",
                _ => "contains",
            };
            let fold = if c["caseInsensitive"] == json!(true) {
                "i"
            } else {
                ""
            };
            any(&|v| format!("{field} {fold}{word} {}", string(v)))
        }
        "NUM_EQ" | "NUM_GT" | "NUM_GTE" | "NUM_LT" | "NUM_LTE" => {
            read(Ty::Num);
            match values.first().and_then(|v| v.parse::<f64>().ok()) {
                Some(n) => format!("({field} is set and {field} {} {n:?})", compare(op)),
                None => "false".to_string(),
            }
        }
        "SEMVER_EQ" | "SEMVER_GT" | "SEMVER_GTE" | "SEMVER_LT" | "SEMVER_LTE" => {
            read(Ty::Semver);
            match values.first().filter(|v| is_semver(v)) {
                Some(v) => format!("({field} is set and {field} {} {})", compare(op), string(v)),
                None => "false".to_string(),
            }
        }
        "DATE_AFTER" | "DATE_BEFORE" => {
            let sign = if op == "DATE_AFTER" { ">" } else { "<" };
            format!("now {sign} {}", string(&values[0]))
        }
        "IN_CIDR" => {
            read(Ty::Ip);
            let ranges: Vec<String> = values
                .iter()
                .filter(|v| is_cidr(v))
                .map(|v| string(v))
                .collect();
            if ranges.is_empty() {
                "false".to_string()
            } else {
                format!("({field} is set and {field} in [{}])", ranges.join(", "))
            }
        }
        _ => "false".to_string(),
    };
    if c["inverted"] == json!(true) {
        format!("not {base}")
    } else {
        base
    }
}

/// What a strategy itself asks of the context (`None`: nothing, as
/// `default`). Random rollouts are deterministic only at 0% and 100%.
fn strategy_condition(strategy: &Value, fields: &mut BTreeMap<String, Ty>) -> Option<String> {
    let parameters = &strategy["parameters"];
    match strategy["name"].as_str().unwrap() {
        "default" => None,
        "userWithId" => {
            fields.insert("userId".into(), Ty::Str);
            let ids: Vec<String> = parameters["userIds"]
                .as_str()
                .unwrap()
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(string)
                .collect();
            Some(format!(
                "(ctx.userId is set and ctx.userId in [{}])",
                ids.join(", ")
            ))
        }
        "gradualRolloutRandom" => match parameters["percentage"].as_str().unwrap() {
            "0" => Some("false".into()),
            "100" => Some("true".into()),
            other => panic!("a random rollout of {other}% has no fixed result"),
        },
        other => panic!("strategy `{other}` is not translated"),
    }
}

fn compare(op: &str) -> &'static str {
    match op.rsplit('_').next().unwrap() {
        "EQ" => "==",
        "GT" => ">",
        "GTE" => ">=",
        "LT" => "<",
        _ => "<=",
    }
}

/// A feature as a project: its source, and the fields its context has.
fn feature_source(feature: &Value) -> (String, BTreeMap<String, Ty>) {
    let mut fields = BTreeMap::new();
    let mut rules = String::new();
    let strategies = feature["strategies"].as_array().unwrap();
    if feature["enabled"] == json!(true) && strategies.is_empty() {
        // On, with nothing to decide.
        rules.push_str("  rule on: => true\n");
    }
    if feature["enabled"] == json!(true) {
        for (i, strategy) in strategies.iter().enumerate() {
            let mut conditions: Vec<String> = strategy_condition(strategy, &mut fields)
                .into_iter()
                .collect();
            conditions.extend(
                strategy["constraints"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| condition(c, &mut fields))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            );
            if conditions.is_empty() {
                rules.push_str(&format!("  rule s{i}: => true\n"));
            } else {
                rules.push_str(&format!(
                    "  rule s{i}: when {} => true\n",
                    conditions.join(" and ")
                ));
            }
        }
    }
    let mut context = String::from("context ctx {\n  unused: string?\n");
    for (name, ty) in &fields {
        context.push_str(&format!("  {name}: {}?\n", ty.vexil()));
    }
    context.push_str("}\n");
    let flag = format!("flag f: bool {{\n  kind release\n  default false\n{rules}}}\n");
    (format!("{context}\n{flag}"), fields)
}

/// The case's context as Vexil's JSON: each field Unleash could read.
fn context_of(case: &Value, fields: &BTreeMap<String, Ty>) -> String {
    let mut ctx = Map::new();
    for (name, ty) in fields {
        let raw = if TOP_LEVEL.contains(&name.as_str()) {
            &case["context"][name]
        } else {
            &case["context"]["properties"][name]
        };
        if let Some(value) = ty.read(raw) {
            ctx.insert(name.clone(), value);
        }
    }
    json!({ "ctx": ctx }).to_string()
}

/// The interpreter, and the JIT in builds that have it (the
/// interpreter-only configuration of scripts/test.sh has none).
fn backends() -> Vec<BackendChoice> {
    #[allow(unused_mut)]
    let mut backends = vec![BackendChoice::Interpreter];
    #[cfg(feature = "jit")]
    {
        if vexil_runtime::jit_status().is_err() {
            panic!("the JIT is not available on this machine; this test runs both backends");
        }
        backends.push(BackendChoice::Jit);
    }
    backends
}

#[test]
fn every_constraint_operator_case_gives_unleash_s_result_on_both_backends() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/unleash");
    let mut cases = 0;
    let mut wrong = Vec::new();
    for file in FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let spec: Value = serde_json::from_str(&text).unwrap();
        let mut features = BTreeMap::new();
        for feature in spec["state"]["features"].as_array().unwrap() {
            let name = feature["name"].as_str().unwrap().to_string();
            let (source, fields) = feature_source(feature);
            let mut project = Project::new();
            project.set_source("feature.flag", source.clone());
            let bundle = project.bundle(false).unwrap_or_else(|d| {
                panic!(
                    "{name} does not compile:\n{source}\n{}",
                    project.render(&d, false)
                )
            });
            let backends: Vec<Snapshot> = backends()
                .into_iter()
                .map(|b| Snapshot::new(bundle.clone(), b, None, 1).unwrap())
                .collect();
            features.insert(name, (source, fields, backends));
        }
        for case in spec["tests"].as_array().unwrap() {
            cases += 1;
            let toggle = case["toggleName"].as_str().unwrap();
            let expected = case["expectedResult"].as_bool().unwrap();
            let Some((source, fields, backends)) = features.get(toggle) else {
                // An unknown feature is off.
                if expected {
                    wrong.push(format!("{file}: {toggle} is unknown but expected on"));
                }
                continue;
            };
            let context = context_of(case, fields);
            let now = case["context"]["currentTime"]
                .as_str()
                .unwrap_or(DEFAULT_NOW);
            let now = vexil_ir::value::parse_timestamp(now).unwrap();
            for snapshot in backends {
                let ctx = snapshot.layout().context_from_json_str(&context).unwrap();
                let details = snapshot.evaluate("f", &ctx, now).to_details_of("f");
                let got = details.value == Some(json!(true));
                if details.error_code.is_some() || got != expected {
                    wrong.push(format!(
                        "{file}: {} ({}): expected {expected}, got {got} ({:?}, {:?})\n  context {context}\n{source}",
                        case["description"].as_str().unwrap_or(toggle),
                        snapshot.backend_name(),
                        details.reason,
                        details.error_code,
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cases} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        cases,
        5 + 5 + 6 + 6 + 46 + 25 + 12,
        "every case of the files"
    );
}

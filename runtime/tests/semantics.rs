//! The interpreter's semantics: each operator, each reason, each error code,
//! missing and wrongly typed values, experiments and layers.

#![allow(clippy::panic)]

mod common;

use common::*;
use serde_json::json;
use vexil_runtime::{BackendChoice, ErrorCode, Reason};

const ANA: &str = r#"{"user": {"id": "u-1", "email": "Ana@Shop.Example", "country": "PT", "plan": "pro",
  "age": 34, "score": 7.5, "app_version": "2.3.1", "beta": true, "created_at": "2024-02-01T10:00:00Z",
  "roles": ["admin", "support"], "lucky": [3, 7]}, "env": {"name": "production"}}"#;

fn check(cases: &[(&str, Option<bool>)], context: &str) {
    for (condition, expected) in cases {
        assert_eq!(matches(condition, context), *expected, "`{condition}`");
    }
}

#[test]
fn comparisons_on_every_type() {
    check(
        &[
            ("user.age == 34", Some(true)),
            ("user.age != 34", Some(false)),
            ("user.age < 35", Some(true)),
            ("user.age <= 34", Some(true)),
            ("user.age > 34", Some(false)),
            ("user.age >= 35", Some(false)),
            ("34 == user.age", Some(true)),
            ("40 > user.age", Some(true)),
            ("user.score > 7", Some(true)),
            ("user.score == 7.5", Some(true)),
            ("user.score < 7.25", Some(false)),
            ("user.age > user.score", Some(true)),
            ("user.country == \"PT\"", Some(true)),
            ("user.country != \"pt\"", Some(true)),
            ("user.plan == pro", Some(true)),
            ("user.plan >= pro", Some(true)),
            ("user.plan > pro", Some(false)),
            ("user.plan < enterprise", Some(true)),
            ("user.beta", Some(true)),
            ("user.beta == false", Some(false)),
            ("not user.beta", Some(false)),
            ("user.app_version >= 2.3.0", Some(true)),
            ("user.app_version < 2.3.1", Some(false)),
            ("user.app_version > 2.3.1-rc.1", Some(true)),
            ("user.app_version == \"2.3.1\"", Some(true)),
            ("user.app_version == 2.3.1+build.7", Some(true)),
            ("user.created_at < 2024-02-02", Some(true)),
            ("user.created_at > 2024-02-01T09:59:59Z", Some(true)),
            ("user.created_at == 2024-02-01T11:00:00+01:00", Some(true)),
            ("env.name == production", Some(true)),
        ],
        ANA,
    );
}

#[test]
fn prerelease_ordering_follows_semver() {
    let order = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ];
    for (i, lower) in order.iter().enumerate() {
        for higher in &order[i + 1..] {
            let ctx = format!(r#"{{"user": {{"app_version": "{lower}"}}}}"#);
            assert_eq!(
                matches(&format!("user.app_version < {higher}"), &ctx),
                Some(true),
                "{lower} < {higher}"
            );
            assert_eq!(
                matches(&format!("user.app_version >= {higher}"), &ctx),
                Some(false),
                "{lower} >= {higher}"
            );
        }
    }
}

#[test]
fn string_operators_and_case_insensitive_forms() {
    check(
        &[
            ("user.email ends_with \"@Shop.Example\"", Some(true)),
            ("user.email ends_with \"@shop.example\"", Some(false)),
            ("user.email iends_with \"@SHOP.example\"", Some(true)),
            ("user.email starts_with \"Ana\"", Some(true)),
            ("user.email istarts_with \"ana@\"", Some(true)),
            ("user.email contains \"@Shop\"", Some(true)),
            ("user.email icontains \"@shop\"", Some(true)),
            ("user.email matches \"^[A-Z][a-z]+@\"", Some(true)),
            ("user.email matches \"^ana\"", Some(false)),
            ("user.email imatches \"^ana\"", Some(true)),
            ("user.email contains user.country", Some(false)),
        ],
        ANA,
    );
    // Non-ASCII case folding.
    let ctx = r#"{"user": {"email": "ÉCOLE@MÜNCHEN.DE"}}"#;
    check(
        &[
            ("user.email iends_with \"münchen.de\"", Some(true)),
            ("user.email istarts_with \"école\"", Some(true)),
            ("user.email icontains \"@mün\"", Some(true)),
            ("user.email starts_with \"école\"", Some(false)),
        ],
        ctx,
    );
}

#[test]
fn membership() {
    check(
        &[
            ("user.country in [\"PT\", \"ES\"]", Some(true)),
            ("user.country not in [\"PT\", \"ES\"]", Some(false)),
            ("user.plan in [free, enterprise]", Some(false)),
            ("user.age in [33, 34]", Some(true)),
            ("user.app_version in [2.3.1, 3.0.0]", Some(true)),
            ("\"admin\" in user.roles", Some(true)),
            ("\"owner\" in user.roles", Some(false)),
            ("user.roles contains \"support\"", Some(true)),
            ("7 in user.lucky", Some(true)),
            ("user.lucky contains 8", Some(false)),
            ("user.country in user.roles", Some(false)),
        ],
        ANA,
    );
}

#[test]
fn a_list_of_five_thousand_literals() {
    let mut codes: Vec<String> = (0..5_000).map(|i| format!("\"c{i}\"")).collect();
    codes.push("\"PT\"".into());
    let condition = format!("user.country in [{}]", codes.join(", "));
    assert_eq!(matches(&condition, ANA), Some(true));
    assert_eq!(
        matches(&condition, r#"{"user": {"country": "c4999"}}"#),
        Some(true)
    );
    assert_eq!(
        matches(&condition, r#"{"user": {"country": "c5000"}}"#),
        Some(false)
    );
}

#[test]
fn presence_tests_are_never_unknown() {
    check(
        &[
            ("user.company is set", Some(false)),
            ("user.company is not set", Some(true)),
            (
                "user.company is not set or user.company == \"acme\"",
                Some(true),
            ),
        ],
        ANA,
    );
    check(
        &[
            ("user.company is set", Some(true)),
            (
                "user.company is set and user.company == \"acme\"",
                Some(true),
            ),
        ],
        r#"{"user": {"company": "acme"}}"#,
    );
}

#[test]
fn missing_values_are_unknown_with_kleene_logic() {
    let empty = r#"{"user": {"age": 30}}"#;
    check(
        &[
            // A comparison with a missing value is unknown: no match either way.
            ("user.country == \"PT\"", Some(false)),
            ("user.country != \"PT\"", Some(false)),
            ("not (user.country == \"PT\")", Some(false)),
            // false and unknown = false; true or unknown = true.
            ("user.age > 40 and user.country == \"PT\"", Some(false)),
            ("user.age < 40 or user.country == \"PT\"", Some(true)),
            // not (false and unknown) = true: Kleene, not "missing is false".
            ("not (user.age > 40 and user.country == \"PT\")", Some(true)),
            // true and unknown = unknown; not unknown = unknown.
            (
                "not (user.age < 40 and user.country == \"PT\")",
                Some(false),
            ),
            ("user.country in [\"PT\"]", Some(false)),
            ("user.country not in [\"PT\"]", Some(false)),
        ],
        empty,
    );
    // A whole context missing.
    assert_eq!(
        matches("env.name == production", r#"{"user": {}}"#),
        Some(false)
    );
    assert_eq!(
        matches("env.name != production", r#"{"user": {}}"#),
        Some(false)
    );
}

#[test]
fn wrongly_typed_values_are_invalid_context_only_where_read() {
    let source = "flag reads-age: bool {\n  kind release\n  default false\n  rule when user.age > 18 => true\n}\n\
                  flag reads-country: bool {\n  kind release\n  default false\n  rule when user.country == \"PT\" => true\n}\n";
    let s = snapshot(source);
    let ctx = r#"{"user": {"age": "forty", "country": "PT"}}"#;
    let d = eval(&s, "reads-age", ctx, NOW);
    assert_eq!(d.reason, Reason::Error);
    assert_eq!(d.error_code, Some(ErrorCode::InvalidContext));
    assert_eq!(d.value, Some(json!(false)), "errors serve the default");
    assert!(d.error_message.unwrap_or_default().contains("user.age"));
    let d = eval(&s, "reads-country", ctx, NOW);
    assert_eq!(
        (d.reason, d.value),
        (Reason::TargetingMatch, Some(json!(true)))
    );
    // An enum value the schema does not know is a wrong value too.
    assert_eq!(
        matches("user.plan == pro", r#"{"user": {"plan": "platinum"}}"#),
        None
    );
    // Short-circuit: the invalid field is not read when the result is known.
    assert_eq!(
        matches(
            "user.beta and user.age > 1",
            r#"{"user": {"beta": false, "age": "x"}}"#
        ),
        Some(false)
    );
}

#[test]
fn every_reason() {
    let s = snapshot(
        r#"
flag static: string { kind operational  default "on" }
flag disabled: bool { kind release  default false  enabled false  rule => true }
flag targeted: bool { kind release  default false  rule pro: when user.plan == pro => true }
flag rollout: bool { kind release  default false  rule half: => 100% by user.id }
flag weighted: string { kind experiment  default "a"  rule => split by user.id { "a" 50%, "b" 50% } }
"#,
    );
    let reason = |flag: &str| eval(&s, flag, ANA, NOW).reason;
    assert_eq!(reason("static"), Reason::Static);
    assert_eq!(reason("disabled"), Reason::Disabled);
    assert_eq!(reason("targeted"), Reason::TargetingMatch);
    assert_eq!(
        eval(&s, "targeted", r#"{"user": {"plan": "free"}}"#, NOW).reason,
        Reason::Default
    );
    assert_eq!(reason("rollout"), Reason::Split);
    assert_eq!(reason("weighted"), Reason::Split);
    let d = eval(&s, "targeted", ANA, NOW);
    assert_eq!(
        d.rule.map(|r| (r.index, r.name)),
        Some((0, Some("pro".to_string())))
    );
}

#[test]
fn enabled_when_switches_a_flag_off_as_disabled_on_both_backends() {
    let source = r#"
segment pros { user.plan >= pro }
flag per-env: bool {
  kind release
  default false
  enabled when env.name != production and not (user.country == "XX")
  rule when user.beta => true
}
flag after-switch: string {
  kind release
  default "d"
  enabled when pros
  requires per-env
  rule when user.age > 30 => "old"
}
flag no-rules: bool { kind release  default true  enabled when user.beta }
"#;
    for backend in [BackendChoice::Interpreter, BackendChoice::Auto] {
        let s = snapshot_with(source, backend);
        let at = |flag: &str, ctx: &str| {
            let d = eval(&s, flag, ctx, NOW);
            (d.value, d.reason, d.error_code, d.rule.map(|r| r.index))
        };
        let staging = r#"{"user": {"beta": true, "plan": "pro", "age": 40, "country": "PT"}, "env": {"name": "staging"}}"#;
        let production = r#"{"user": {"beta": true, "plan": "pro", "age": 40, "country": "PT"}, "env": {"name": "production"}}"#;
        let no_env = r#"{"user": {"beta": true, "plan": "pro", "country": "PT"}}"#;
        let bad_env = r#"{"user": {"beta": true}, "env": {"name": "prod"}}"#;
        assert_eq!(
            at("per-env", staging),
            (Some(json!(true)), Reason::TargetingMatch, None, Some(0)),
            "{backend:?}"
        );
        // Off: the default with reason DISABLED, not a rule that missed.
        assert_eq!(
            at("per-env", production),
            (Some(json!(false)), Reason::Disabled, None, None),
            "{backend:?}"
        );
        // Unknown (no env) is not on.
        assert_eq!(
            at("per-env", no_env),
            (Some(json!(false)), Reason::Disabled, None, None),
            "{backend:?}"
        );
        // A wrongly typed field the switch reads is an error, as in a rule.
        assert_eq!(
            at("per-env", bad_env),
            (
                Some(json!(false)),
                Reason::Error,
                Some(ErrorCode::InvalidContext),
                None
            ),
            "{backend:?}"
        );
        // The switch comes before prerequisites and rules.
        assert_eq!(at("after-switch", staging).0, Some(json!("old")));
        assert_eq!(at("after-switch", production).1, Reason::Default);
        assert_eq!(
            at(
                "after-switch",
                r#"{"user": {"plan": "free"}, "env": {"name": "production"}}"#
            )
            .1,
            Reason::Disabled
        );
        // Without rules or prerequisites: STATIC when on, DISABLED when off.
        assert_eq!(at("no-rules", staging).1, Reason::Static);
        assert_eq!(
            at("no-rules", r#"{"user": {"beta": false}}"#).1,
            Reason::Disabled
        );
    }
}

#[test]
fn addresses_compare_and_fall_in_ranges_on_both_backends() {
    let source = r#"
context request {
  ip: ip
  peer: ip?
}
flag office: bool {
  kind release
  default false
  rule when request.ip in ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"] => true
}
flag exact: bool {
  kind release
  default false
  rule when request.ip == "::ffff:203.0.113.7" => true
}
flag other: bool {
  kind release
  default false
  rule when request.peer is set and request.ip != request.peer => true
}
"#;
    // The JIT compiled before the load returns (not tiered), where this
    // build has it.
    let mut backends = vec![BackendChoice::Interpreter];
    if vexil_runtime::jit_status().is_ok() {
        backends.push(BackendChoice::Jit);
    }
    for backend in backends {
        let s = snapshot_with(source, backend);
        assert_eq!(
            s.backend_name() == "interpreter",
            backend == BackendChoice::Interpreter
        );
        let at = |flag: &str, ip: &str| {
            let ctx = format!(r#"{{"request": {ip}}}"#);
            let d = eval(&s, flag, &ctx, NOW);
            (d.value, d.error_code)
        };
        let on = (Some(json!(true)), None);
        let off = (Some(json!(false)), None);
        for (ip, expected) in [
            ("10.1.2.3", &on),
            ("::ffff:10.1.2.3", &on),
            ("::10.1.2.3", &off),
            ("11.0.0.0", &off),
            ("2001:db8:ffff::1", &on),
            ("2001:db9::", &off),
            ("192.0.2.7", &on),
            ("192.0.2.8", &off),
        ] {
            assert_eq!(
                &at("office", &format!(r#"{{"ip": "{ip}"}}"#)),
                expected,
                "{ip} on {backend:?}"
            );
        }
        assert_eq!(at("exact", r#"{"ip": "203.0.113.7"}"#), on, "{backend:?}");
        assert_eq!(at("exact", r#"{"ip": "203.0.113.8"}"#), off, "{backend:?}");
        assert_eq!(
            at("other", r#"{"ip": "10.0.0.1", "peer": "::ffff:10.0.0.1"}"#),
            off,
            "{backend:?}"
        );
        assert_eq!(
            at("other", r#"{"ip": "10.0.0.1", "peer": "10.0.0.2"}"#),
            on,
            "{backend:?}"
        );
        // Not an address: the flag that reads it is an error, as for every type.
        assert_eq!(
            at("office", r#"{"ip": "10.0.0.256"}"#),
            (Some(json!(false)), Some(ErrorCode::InvalidContext)),
            "{backend:?}"
        );
        assert_eq!(
            at("office", r#"{"ip": 167772161}"#),
            (Some(json!(false)), Some(ErrorCode::InvalidContext)),
            "{backend:?}"
        );
    }
}

#[test]
fn every_error_code() {
    let s = snapshot(
        r#"
flag rollout: bool { kind release  default false  rule => 50% by user.id }
flag age: bool { kind release  default false  rule when user.age > 1 => true }
"#,
    );
    let d = eval(&s, "nope", ANA, NOW);
    assert_eq!(
        (d.reason, d.error_code, d.value),
        (Reason::Error, Some(ErrorCode::FlagNotFound), None)
    );
    // The name asked for is kept, by the engine too.
    assert_eq!(d.key, "nope");
    let engine =
        vexil_runtime::Engine::from_bundle(s.bundle().clone(), Default::default()).expect("loads");
    let ctx = s.layout().context_from_json_str(ANA).expect("json");
    let d = engine.evaluate("nope", &ctx);
    assert_eq!(d.key, "nope");
    assert_eq!(
        d.error_message.as_deref(),
        Some("no flag or experiment named `nope`")
    );
    let d = eval(&s, "rollout", r#"{"user": {}}"#, NOW);
    assert_eq!(d.error_code, Some(ErrorCode::TargetingKeyMissing));
    assert_eq!(d.value, Some(json!(false)));
    let d = eval(&s, "age", r#"{"user": {"age": 1.5}}"#, NOW);
    assert_eq!(d.error_code, Some(ErrorCode::InvalidContext));
    // TYPE_MISMATCH: a typed request for another type.
    let ctx = s.layout().context_from_json_str(ANA).expect("json");
    let now = vexil_ir::value::parse_timestamp(NOW).expect("time");
    let e = s.evaluate_as("age", &ctx, now, vexil_ir::ValueType::String);
    assert_eq!(e.error, Some(ErrorCode::TypeMismatch));
    assert_eq!(s.string_value("age", &ctx, now, "fallback"), "fallback");
    // PARSE_ERROR is the context that is not JSON, reported by the caller
    // (the CLI and the server); the layout refuses it.
    assert!(s.layout().context_from_json_str("{not json").is_err());
    // A context built for another schema is refused, not misread.
    let other = snapshot("segment x { user.beta }");
    let foreign = other.layout().context();
    let mut p = vexil_compiler::Project::new();
    p.set_source(
        "a.flag",
        "context user { key id: string }\nflag g: bool { kind release default true }".into(),
    );
    let s2 = vexil_runtime::Snapshot::new(
        p.bundle(false).expect("compiles"),
        vexil_runtime::BackendChoice::Interpreter,
        None,
        1,
    )
    .expect("loads");
    let e = s2.evaluate("g", &foreign, now);
    assert_eq!(e.error, Some(ErrorCode::InvalidContext));
    assert!(e
        .error_message()
        .unwrap_or_default()
        .contains("another schema"));
}

#[test]
fn prerequisites() {
    let s = snapshot(
        r#"
flag base: bool { kind release  default false  rule when user.beta => true }
flag theme: string { kind release  default "light"  variants { dark = "dark"  light = "light" }  rule when user.plan == pro => dark }
flag needs-base: bool { kind release  default false  requires base  rule => true }
flag needs-dark: bool { kind release  default false  requires theme == dark  rule => true }
flag not-dark: bool { kind release  default false  requires theme != "dark"  rule => true }
flag broken-base: bool { kind release  default false  rule when user.age > 1 => true }
flag needs-broken: bool { kind release  default false  requires broken-base  rule => true }
"#,
    );
    assert_eq!(eval(&s, "needs-base", ANA, NOW).value, Some(json!(true)));
    let d = eval(&s, "needs-base", r#"{"user": {"beta": false}}"#, NOW);
    assert_eq!((d.value, d.reason), (Some(json!(false)), Reason::Default));
    assert_eq!(d.prerequisite_failed.as_deref(), Some("base"));
    assert_eq!(eval(&s, "needs-dark", ANA, NOW).value, Some(json!(true)));
    assert_eq!(eval(&s, "not-dark", ANA, NOW).value, Some(json!(false)));
    assert_eq!(
        eval(&s, "not-dark", r#"{"user": {"plan": "free"}}"#, NOW).value,
        Some(json!(true))
    );
    // An error in a prerequisite is this flag's error.
    let d = eval(&s, "needs-broken", r#"{"user": {"age": "x"}}"#, NOW);
    assert_eq!(d.error_code, Some(ErrorCode::InvalidContext));
}

#[test]
fn time_windows_and_now() {
    let s = snapshot(
        r#"
flag launch: bool { kind release  default false  rule from 2026-12-01 until 2027-01-01T00:00:00Z => true }
flag after: bool { kind release  default false  rule when now >= 2026-12-01T09:00:00Z => true }
flag young-account: bool { kind release  default false  rule when user.created_at > now => true }
"#,
    );
    let at = |flag: &str, now: &str| eval(&s, flag, ANA, now).value;
    assert_eq!(at("launch", "2026-11-30T23:59:59Z"), Some(json!(false)));
    assert_eq!(
        at("launch", "2026-12-01T00:00:00Z"),
        Some(json!(true)),
        "from is inclusive"
    );
    assert_eq!(at("launch", "2026-12-31T23:59:59Z"), Some(json!(true)));
    assert_eq!(
        at("launch", "2027-01-01T00:00:00Z"),
        Some(json!(false)),
        "until is exclusive"
    );
    assert_eq!(at("after", "2026-12-01T08:59:59Z"), Some(json!(false)));
    assert_eq!(at("after", "2026-12-01T09:00:00Z"), Some(json!(true)));
    assert_eq!(
        at("young-account", "2023-01-01T00:00:00Z"),
        Some(json!(true))
    );
    assert_eq!(at("young-account", NOW), Some(json!(false)));
}

#[test]
fn rollouts_fall_through_and_splits_always_serve() {
    let s = snapshot(
        r#"
flag r: string { kind release  default "none"  rule first: => "first" for 30% by user.id  rule second: => "second" }
flag sp: string { kind release  default "none"  rule => split by user.id { "a" 20%, "b" 30%, "c" 50% } }
"#,
    );
    let mut first = 0;
    let mut arms = [0u32; 3];
    for i in 0..20_000 {
        let ctx = format!(r#"{{"user": {{"id": "unit-{i}"}}}}"#);
        let d = eval(&s, "r", &ctx, NOW);
        match d.value {
            Some(v) if v == json!("first") => {
                assert_eq!(d.reason, Reason::Split);
                first += 1;
            }
            Some(v) if v == json!("second") => assert_eq!(d.reason, Reason::TargetingMatch),
            other => panic!("unexpected {other:?}"),
        }
        let d = eval(&s, "sp", &ctx, NOW);
        let arm = match d.value.as_ref().and_then(|v| v.as_str()) {
            Some("a") => 0,
            Some("b") => 1,
            Some("c") => 2,
            other => panic!("unexpected {other:?}"),
        };
        arms[arm] += 1;
    }
    assert!((5_600..=6_400).contains(&first), "30% of 20,000: {first}");
    assert!((3_700..=4_300).contains(&arms[0]), "{arms:?}");
    assert!((5_600..=6_400).contains(&arms[1]), "{arms:?}");
    assert!((9_500..=10_500).contains(&arms[2]), "{arms:?}");
}

#[test]
fn int_units_hash_as_decimal_text() {
    let mut p = vexil_compiler::Project::new();
    p.set_source(
        "a.flag",
        "context account { key id: int }\nflag f: bool { kind release default false rule => 50% by account }".into(),
    );
    let s = vexil_runtime::Snapshot::new(
        p.bundle(false).expect("compiles"),
        vexil_runtime::BackendChoice::Interpreter,
        None,
        1,
    )
    .expect("loads");
    for id in [0i64, 7, -42, 123_456_789, i64::MIN] {
        let ctx = s
            .layout()
            .context_from_json(&json!({"account": {"id": id}}));
        let expected = vexil_ir::bucket::bucket("f", &id.to_string()) < 50_000;
        let got = s.evaluate("f", &ctx, 0).value == Some(&vexil_ir::FlagValue::Bool(true));
        assert_eq!(got, expected, "id {id}");
    }
}

const LAYERED: &str = r#"
experiment a: string { unit user.id  layer l  traffic 30%  variants { control = "a0"  t = "a1" }  control control }
experiment b: string { unit user.id  layer l  traffic 45%  variants { control = "b0"  t = "b1" }  control control }
experiment c: string { unit user.id  layer l  traffic 25%  audience user.beta  variants { control = "c0"  t = "c1" }  control control }
experiment solo: string { unit user.id  traffic 50%  start 2026-01-01  end 2027-01-01  variants { control = "x" 34%  y = "y" 33%  z = "z" 33% }  control control }
"#;

#[test]
fn no_unit_is_in_two_experiments_of_one_layer() {
    let s = snapshot(LAYERED);
    let mut enrolled = [0u32; 3];
    for i in 0..100_000 {
        let ctx = s
            .layout()
            .context_from_json(&json!({"user": {"id": format!("u{i}"), "beta": i % 2 == 0}}));
        let mut count = 0;
        for (k, name) in ["a", "b", "c"].iter().enumerate() {
            let e = s.evaluate(name, &ctx, 0);
            if e.reason == Reason::Split {
                count += 1;
                enrolled[k] += 1;
            }
        }
        assert!(
            count <= 1,
            "unit u{i} is in {count} experiments of one layer"
        );
    }
    // Each takes about its traffic; `c` only its beta half.
    assert!((29_000..=31_000).contains(&enrolled[0]), "{enrolled:?}");
    assert!((44_000..=46_000).contains(&enrolled[1]), "{enrolled:?}");
    assert!((11_800..=13_200).contains(&enrolled[2]), "{enrolled:?}");
}

#[test]
fn experiments_enrol_inside_their_window_and_emit_exposures() {
    use std::sync::Arc;
    let mut p = vexil_compiler::Project::new();
    p.set_source("schema.flag", SCHEMA.into());
    p.set_source("x.flag", LAYERED.into());
    let sink = Arc::new(vexil_runtime::MemorySink::default());
    let s = vexil_runtime::Snapshot::new(
        p.bundle(false).expect("compiles"),
        vexil_runtime::BackendChoice::Interpreter,
        Some(sink.clone()),
        1,
    )
    .expect("loads");
    let before = vexil_ir::value::parse_timestamp("2025-12-31T23:59:59Z").expect("t");
    let during = vexil_ir::value::parse_timestamp("2026-06-01T00:00:00Z").expect("t");
    let after = vexil_ir::value::parse_timestamp("2027-01-01T00:00:00Z").expect("t");
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..30_000 {
        let ctx = s
            .layout()
            .context_from_json(&json!({"user": {"id": format!("u{i}")}}));
        for t in [before, after] {
            let e = s.evaluate("solo", &ctx, t);
            assert_eq!((e.reason, e.variant), (Reason::Default, Some("control")));
        }
        let e = s.evaluate("solo", &ctx, during);
        if e.reason == Reason::Split {
            *counts
                .entry(e.variant.unwrap_or("").to_string())
                .or_insert(0u32) += 1;
        }
    }
    let exposures = sink.take();
    let total: u32 = counts.values().sum();
    assert_eq!(
        exposures.len() as u32,
        total,
        "one exposure per enrolled evaluation"
    );
    assert!(
        (14_400..=15_600).contains(&total),
        "50% traffic of 30,000: {total}"
    );
    for (name, n) in &counts {
        let share = f64::from(*n) / f64::from(total);
        let want = if name == "control" { 0.34 } else { 0.33 };
        assert!((share - want).abs() < 0.02, "{name}: {share:.3}");
    }
    assert!(exposures
        .iter()
        .all(|x| x.experiment == "solo" && x.time == during));
}

#[test]
fn a_dedup_sink_passes_each_enrolment_on_once() {
    use std::sync::Arc;
    let mut p = vexil_compiler::Project::new();
    p.set_source("schema.flag", SCHEMA.into());
    p.set_source("x.flag", LAYERED.into());
    let sink = Arc::new(vexil_runtime::DedupSink::new(
        vexil_runtime::MemorySink::default(),
        10_000,
    ));
    let s = vexil_runtime::Snapshot::new(
        p.bundle(false).expect("compiles"),
        vexil_runtime::BackendChoice::Auto,
        Some(sink.clone()),
        1,
    )
    .expect("loads");
    let during = vexil_ir::value::parse_timestamp("2026-06-01T00:00:00Z").expect("t");
    let mut enrolled = 0;
    for i in 0..1_000 {
        let ctx = s
            .layout()
            .context_from_json(&json!({"user": {"id": format!("u{i}")}}));
        // A service evaluating the experiment on every request.
        for request in 0..5 {
            let e = s.evaluate("solo", &ctx, during + request);
            if request == 0 && e.reason == Reason::Split {
                enrolled += 1;
            }
        }
    }
    let exposures = sink.inner().take();
    assert!(enrolled > 400, "{enrolled}");
    assert_eq!(exposures.len(), enrolled, "one exposure per enrolled unit");
    // The first evaluation's, with its time.
    assert!(exposures.iter().all(|x| x.time == during));
}

/// Issue 12: a context's names the schema does not declare are ignored,
/// reported with the nearest declared name, and counted by the engine
/// across reloads.
#[test]
fn unknown_contexts_and_fields_are_reported_and_counted() {
    use vexil_runtime::{ContextCounts, ContextWarning, Engine, EngineOptions};
    let source =
        "flag pro: bool { kind release  default false  rule when user.plan == pro => true }";
    let engine =
        Engine::from_bundle(bundle_with(source, false), EngineOptions::default()).expect("engine");
    let snapshot = engine.snapshot();
    let (ctx, warnings) = snapshot
        .layout()
        .context_from_json_str_with_warnings(
            r#"{"user": {"id": "u1", "plna": "pro", "plan": "pro", "zzz": 1}, "usr": {}, "envv": {}}"#,
        )
        .expect("an object");
    // Evaluation goes on with what is declared.
    assert!(snapshot.bool_value("pro", &ctx, 0, false));
    // In the JSON's order, which is the map's: sorted here to be sure.
    let mut shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "unknown context `envv` ignored; did you mean `env`?",
            "unknown context `usr` ignored; did you mean `user`?",
            "unknown field `user.plna` ignored; did you mean `user.plan`?",
            "unknown field `user.zzz` ignored; `user` declares no such field",
        ]
    );
    assert!(warnings.contains(&ContextWarning::UnknownField {
        context: "user".into(),
        name: "plna".into(),
        nearest: Some("plan".into()),
    }));
    assert_eq!(
        engine.context_counts(),
        ContextCounts {
            unknown_contexts: 2,
            unknown_fields: 2
        }
    );
    // The counts outlive a reload, and a clean context adds nothing.
    engine
        .install(bundle_with(source, false))
        .expect("new version");
    let snapshot = engine.snapshot();
    let _ = snapshot
        .layout()
        .context_from_json(&json!({"user": {"id": "u1", "emial": "a@b.c"}}));
    let _ = snapshot
        .layout()
        .context_from_json(&json!({"user": {"id": "u1"}}));
    assert_eq!(engine.context_counts().unknown_fields, 3);
}

/// Issue 12: a byte-order mark before a JSON context is skipped, and a
/// context that is not an object is refused in words.
#[test]
fn json_contexts_with_a_bom_or_of_the_wrong_shape() {
    let s = snapshot("flag f: bool { kind release  default true }");
    assert!(s
        .layout()
        .context_from_json_str("\u{FEFF}{\"user\": {\"id\": \"u1\"}}")
        .is_ok());
    let refused = |text: &str| match s.layout().context_from_json_str(text) {
        Err(e) => e,
        Ok(_) => panic!("`{text}` was accepted"),
    };
    assert_eq!(
        refused(r#"{"user": "u1"}"#),
        r#"the context `user` must be a JSON object of its fields, like `{"user": {...}}`, not a string"#
    );
    assert_eq!(
        refused("[]"),
        r#"the context must be a JSON object of contexts, like `{"user": {"id": "u1"}}`, not an array"#
    );
    // `null` is a context left out.
    assert!(s
        .layout()
        .context_from_json_str(r#"{"user": null}"#)
        .is_ok());
}

// ---------------------------------------------------------------- explaining

#[test]
fn an_explanation_names_the_rule_that_matched_and_why_each_earlier_one_did_not() {
    let s = snapshot(
        r#"
segment pros { user.plan in [pro, enterprise] }
flag launch: bool {
  kind release
  default false
  rule staff: when user.email ends_with "@vexil.dev" and user.beta => true
  rule paying: when pros and user.country == "US" => true
  rule older: when user.age >= 30 => true
  rule everyone: => true for 1% by user.id
}
"#,
    );
    let json = json!({"user": {"id": "u-1", "email": "ana@shop.example", "country": "PT", "plan": "free", "age": 41}});
    let ctx = s.layout().context_from_json(&json);
    let e = s.explain("launch", &ctx, Some(&json), 0).expect("a flag");
    let steps: Vec<(&str, &str)> = e
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.verdict))
        .collect();
    assert_eq!(
        steps,
        [
            ("rule staff", "not matched"),
            ("rule paying", "not matched"),
            ("rule older", "matched"),
        ]
    );
    // The failing comparison with the context's value.
    assert_eq!(
        e.steps[0].because,
        [r#"`user.email ends_with "@vexil.dev"` is false: user.email is "ana@shop.example""#]
    );
    // Into the segment, with the enum's names.
    assert_eq!(
        e.steps[1].because,
        [
            "segment `pros` is false",
            r#"`user.plan in [pro, enterprise]` is false: user.plan is "free""#,
        ]
    );
    assert_eq!(e.steps[2].because, ["it serves true"]);

    // A missing value makes a rule unknown; a rollout can leave the unit out.
    let young = json!({"user": {"id": "u-2", "email": "x@y.z", "country": "US", "plan": "pro"}});
    let ctx = s.layout().context_from_json(&young);
    let e = s.explain("launch", &ctx, Some(&young), 0).expect("a flag");
    let steps: Vec<(&str, &str)> = e
        .steps
        .iter()
        .map(|s| (s.step.as_str(), s.verdict))
        .collect();
    assert_eq!(
        steps,
        [("rule staff", "not matched"), ("rule paying", "matched"),]
    );
    let ctx = s
        .layout()
        .context_from_json(&json!({"user": {"id": "u-3", "email": "x@y.z", "country": "PT"}}));
    let e = s.explain("launch", &ctx, None, 0).expect("a flag");
    assert_eq!(e.steps[2].step, "rule older");
    assert_eq!(e.steps[2].verdict, "unknown");
    assert_eq!(
        e.steps[2].because,
        ["`user.age >= 30` is unknown: user.age is missing"]
    );
    assert_eq!(e.steps[3].verdict, "outside the rollout");
    assert_eq!(e.steps[4].step, "default");
    // What the explanation ends on is what evaluation serves.
    let served = eval(
        &s,
        "launch",
        r#"{"user": {"id": "u-3", "email": "x@y.z", "country": "PT"}}"#,
        NOW,
    );
    assert_eq!(served.reason, Reason::Default);
    assert!(s.explain("no-such-flag", &ctx, None, 0).is_none());
}

#[test]
fn an_explanation_quotes_addresses_and_ranges_as_the_source_writes_them() {
    let s = snapshot(
        r#"
context request {
  ip: ip
}
flag office: bool {
  kind release
  default false
  rule lb: when request.ip == "::ffff:203.0.113.7" => true
  rule vpn: when request.ip in ["10.0.0.0/8", "2001:db8::/32"] => true
}
"#,
    );
    let json = json!({"request": {"ip": "::ffff:10.1.2.3"}});
    let ctx = s.layout().context_from_json(&json);
    let e = s.explain("office", &ctx, Some(&json), 0).expect("a flag");
    assert_eq!(
        e.steps[0].because,
        [r#"`request.ip == "203.0.113.7"` is false: request.ip is "::ffff:10.1.2.3""#]
    );
    assert_eq!(e.steps[1].verdict, "matched");
}

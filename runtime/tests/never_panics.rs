//! The runtime never panics on a context, whatever JSON it is built from.

use proptest::prelude::*;
use serde_json::{json, Value};
use vexil_runtime::{BackendChoice, Snapshot};

fn shop() -> &'static Snapshot {
    static SHOP: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    SHOP.get_or_init(load_shop)
}

fn load_shop() -> Snapshot {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop");
    let project = vexil_compiler::Project::from_dir(dir.as_ref()).expect("examples/shop exists");
    Snapshot::new(
        project.bundle(false).expect("shop compiles"),
        BackendChoice::Interpreter,
        None,
        1,
    )
    .expect("loads")
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2.3.0"),
            Just("1.0.0-rc.1"),
            Just("99999999999.0.0"),
            Just("2026-12-01"),
            Just("2026-12-01T09:00:00Z"),
            Just("pro"),
            Just("gold"),
            Just("production"),
            Just("ios"),
            Just("US"),
            Just("ÉCOLE"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Contexts shaped like the schema, with random values in real field names.
fn shaped(fields: Vec<(String, Vec<String>)>) -> impl Strategy<Value = Value> {
    let per_context: Vec<_> = fields
        .into_iter()
        .map(|(ctx, names)| {
            let n = names.len();
            (
                Just(ctx),
                Just(names),
                prop::collection::vec(prop::option::of(value()), n),
            )
        })
        .collect();
    per_context.prop_map(|contexts| {
        let mut out = serde_json::Map::new();
        for (ctx, names, values) in contexts {
            let obj: serde_json::Map<String, Value> = names
                .into_iter()
                .zip(values)
                .filter_map(|(n, v)| v.map(|v| (n, v)))
                .collect();
            out.insert(ctx, Value::Object(obj));
        }
        Value::Object(out)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_json_value_is_a_context(v in value(), now in any::<i64>()) {
        let s = shop();
        let ctx = s.layout().context_from_json(&v);
        for e in s.evaluate_all(&ctx, now) {
            let _ = e.to_details();
        }
    }

    #[test]
    fn any_text_is_refused_or_a_context(text in ".{0,64}") {
        let s = shop();
        if let Ok(ctx) = s.layout().context_from_json_str(&text) {
            let _ = s.evaluate_all(&ctx, 0);
        }
    }
}

#[test]
fn schema_shaped_random_contexts() {
    let s = shop();
    let fields: Vec<(String, Vec<String>)> = s
        .bundle()
        .schema
        .contexts
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.fields.iter().map(|f| f.name.clone()).collect(),
            )
        })
        .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    });
    runner
        .run(&(shaped(fields), any::<i64>()), |(v, now)| {
            let ctx = s.layout().context_from_json(&v);
            for e in s.evaluate_all(&ctx, now) {
                let _ = e.to_details();
            }
            Ok(())
        })
        .expect("never panics");
}

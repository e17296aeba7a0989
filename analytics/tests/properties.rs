//! Property tests: the JSON entry point never panics, whatever it is fed,
//! and whatever it returns is either an error or finite, coherent numbers.

#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{json, Value};
use vexil_analytics::analyze_json;

/// Any f64 a JSON number can carry, weighted towards the awkward ones.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => -5.0f64..5000.0,
        2 => prop::sample::select(vec![0.0, 1.0, 2.0, -1.0, 0.5, 1e-300, 1e300, -1e300, f64::MAX, f64::MIN_POSITIVE, 9.1e15]),
        1 => any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite()),
    ]
}

fn maybe(key: &'static str) -> impl Strategy<Value = Option<(&'static str, f64)>> {
    prop::option::of(number().prop_map(move |x| (key, x)))
}

fn variant() -> impl Strategy<Value = Value> {
    (
        number(),
        number(),
        (
            maybe("sum_squares"),
            maybe("denominator_sum"),
            maybe("denominator_sum_squares"),
            maybe("cross_sum"),
        ),
        (
            maybe("pre_sum"),
            maybe("pre_sum_squares"),
            maybe("pre_cross_sum"),
        ),
        "[a-z]{0,3}",
    )
        .prop_map(|(n, sum, (a, b, c, d), (e, f, g), name)| {
            let mut v = json!({"name": name, "n": n, "sum": sum});
            for (key, x) in [a, b, c, d, e, f, g].into_iter().flatten() {
                v[key] = json!(x);
            }
            v
        })
}

/// Variants whose statistics are internally consistent, so most requests
/// succeed and the output invariants get exercised.
fn plausible_variant(metric: &'static str) -> impl Strategy<Value = Value> {
    (2u32..5000, 0.0f64..1.0, 0.1f64..50.0, 0.01f64..20.0, "[a-z]{1,4}").prop_map(
        move |(n, p, mean, sd, name)| {
            let n = f64::from(n);
            let sum = match metric {
                "proportion" => (p * n).round(),
                _ => mean * n,
            };
            let ss = sd * sd * (n - 1.0) + sum * sum / n;
            json!({"name": name, "n": n, "sum": sum, "sum_squares": ss,
                   "denominator_sum": n * (1.0 + p), "denominator_sum_squares": n * (1.0 + p).powi(2) + n * sd,
                   "cross_sum": sum * (1.0 + p) + p * n})
        },
    )
}

fn options() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop_oneof![Just(0.05), 0.0f64..1.2]),
        any::<bool>(),
        prop::option::of(prop_oneof![Just("holm"), Just("bh")]),
        any::<bool>(),
        prop::option::of(prop_oneof![Just("relative"), Just("absolute")]),
        prop::option::of(prop_oneof![Just("gaussian"), Just("beta_binomial")]),
        prop::option::of((number(), number())),
    )
        .prop_map(
            |(alpha, sequential, correction, inverse, scale, method, prior)| {
                let mut o = json!({"sequential": sequential, "inverse": inverse});
                if let Some(a) = alpha {
                    o["alpha"] = json!(a);
                }
                if let Some(c) = correction {
                    o["correction"] = json!(c);
                }
                if let Some(s) = scale {
                    o["bayes_scale"] = json!(s);
                }
                if let Some(m) = method {
                    o["bayes_method"] = json!(m);
                }
                if let Some((mean, stddev)) = prior {
                    o["bayes_prior"] = json!({"mean": mean, "stddev": stddev});
                }
                o
            },
        )
}

fn metric() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("proportion"), Just("mean"), Just("ratio")]
}

/// Every number in the output is finite, probabilities are probabilities
/// and intervals contain their point estimates.
fn check_output(text: &str) {
    let out: Value = serde_json::from_str(text).unwrap();
    check_no_null(&out);
    for v in out["variants"].as_array().unwrap() {
        for key in ["absolute", "relative"] {
            let e = &v[key];
            let p = e["p_value"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&p), "{key} p {p}");
            let (lo, pt, hi) = (
                e["ci_lower"].as_f64().unwrap(),
                e["point"].as_f64().unwrap(),
                e["ci_upper"].as_f64().unwrap(),
            );
            assert!(lo <= pt && pt <= hi, "{key}: {lo} {pt} {hi}");
        }
        let b = &v["bayes"];
        let ctw = b["chance_to_win"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ctw), "chance to win {ctw}");
        assert!(b["risk_control"].as_f64().unwrap() >= 0.0);
        assert!(b["risk_treatment"].as_f64().unwrap() >= 0.0);
    }
}

fn check_no_null(v: &Value) {
    match v {
        Value::Null => panic!("null (a NaN?) in output"),
        Value::Array(items) => items.iter().for_each(check_no_null),
        Value::Object(map) => map.values().for_each(check_no_null),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = analyze_json(&text);
    }

    #[test]
    fn arbitrary_json_values_never_panic(value in any_json()) {
        let _ = analyze_json(&value.to_string());
    }

    #[test]
    fn arbitrary_statistics_give_an_error_or_finite_output(
        metric in metric(),
        variants in prop::collection::vec(variant(), 0..5),
        weights in prop::option::of(prop::collection::vec(number(), 0..5)),
        opts in options(),
    ) {
        let mut req = opts;
        req["metric"] = json!(metric);
        req["variants"] = json!(variants);
        if let Some(w) = weights {
            req["weights"] = json!(w);
        }
        if let Ok(text) = analyze_json(&req.to_string()) {
            check_output(&text);
        }
    }

    #[test]
    fn consistent_statistics_give_coherent_output(
        metric in metric(),
        control in plausible_variant("mean"),
        rest in prop::collection::vec(plausible_variant("mean"), 1..4),
        opts in options(),
    ) {
        let mut req = opts;
        req["metric"] = json!(metric);
        let mut variants = vec![control];
        variants.extend(rest);
        if metric == "proportion" {
            for v in variants.iter_mut() {
                let n = v["n"].as_f64().unwrap();
                v["sum"] = json!((v["sum"].as_f64().unwrap() / 50.0).floor().min(n));
            }
        }
        req["variants"] = json!(variants);
        if let Ok(text) = analyze_json(&req.to_string()) {
            check_output(&text);
        }
    }
}

/// Arbitrary JSON documents, shallow, with analysis-like keys sprinkled in.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(|x| json!(x)),
        "[a-z_]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("metric".to_owned()),
                    Just("variants".to_owned()),
                    Just("weights".to_owned()),
                    Just("n".to_owned()),
                    Just("sum".to_owned()),
                    Just("name".to_owned()),
                    "[a-z_]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

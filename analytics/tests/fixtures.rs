//! Agreement with reference values computed independently in Python by
//! `fixtures/make_fixtures.py` (gbstats 0.8.0, scipy, statsmodels).

// Helpers outside #[test] functions read fixtures; a broken fixture should
// fail the test loudly, which is what unwrap and panic do here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vexil_analytics::{adjust_p_values, analyze_json, sample_size, Correction, SampleSizeInput};

/// Closed-form results (t-test, delta method, Gaussian posterior, SPRT,
/// CUPED, SRM, corrections) must match to 1e-6 relative. The absolute floor
/// absorbs values that are zero up to rounding, e.g. gbstats' p-values
/// computed as `1 - cdf`, which bottom out near 1e-16 where ours keep going.
const CLOSED_FORM: Tolerance = Tolerance {
    relative: 1e-6,
    absolute: 1e-12,
};

/// Beta–binomial quantities are integrals: ours use fixed Gauss–Legendre
/// panels and Illinois root-finding, the reference uses QUADPACK and Brent
/// (and Evan Miller's closed-form sum for the chance to win). Both sides
/// converge to ~1e-10, so 1e-7 relative leaves room without hiding errors.
const QUADRATURE: Tolerance = Tolerance {
    relative: 1e-7,
    absolute: 1e-10,
};

#[derive(Clone, Copy)]
struct Tolerance {
    relative: f64,
    absolute: f64,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn close(actual: f64, expected: f64, tol: Tolerance) -> bool {
    (actual - expected).abs() <= tol.relative * actual.abs().max(expected.abs()) + tol.absolute
}

/// Compares every number in `expected` with the same path in `actual`,
/// collecting mismatches rather than stopping at the first.
fn compare(
    expected: &Value,
    actual: &Value,
    path: &str,
    tol_for: &dyn Fn(&str) -> Tolerance,
    failures: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let sub = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => compare(ev, av, &sub, tol_for, failures),
                    None => failures.push(format!("{sub}: missing in output")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                failures.push(format!("{path}: length {} vs {}", a.len(), e.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{path}[{i}]"), tol_for, failures);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            let tol = tol_for(path);
            if !close(a, e, tol) {
                failures.push(format!(
                    "{path}: got {a:e}, expected {e:e} (rel err {:.2e})",
                    (a - e).abs() / e.abs().max(f64::MIN_POSITIVE)
                ));
            }
        }
        (e, a) => {
            if e != a {
                failures.push(format!("{path}: got {a}, expected {e}"));
            }
        }
    }
}

#[test]
fn analyses_match_gbstats() {
    let dir = fixtures_dir().join("analysis");
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the full fixture set in {dir:?}"
    );
    let mut failures = Vec::new();
    for path in &paths {
        let case = read_json(path);
        let name = case["name"].as_str().unwrap().to_owned();
        let exact = case["input"]["bayes_method"] == "beta_binomial";
        let tol_for = |p: &str| {
            if exact && p.contains(".bayes.") {
                QUADRATURE
            } else {
                CLOSED_FORM
            }
        };
        match analyze_json(&case["input"].to_string()) {
            Ok(text) => {
                let actual: Value = serde_json::from_str(&text).unwrap();
                compare(&case["expected"], &actual, &name, &tol_for, &mut failures);
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sample_sizes_match_statsmodels() {
    let fixture = read_json(&fixtures_dir().join("planning.json"));
    for case in fixture["cases"].as_array().unwrap() {
        let input: SampleSizeInput = serde_json::from_value(case["input"].clone()).unwrap();
        let expected = case["expected"]["per_variant_exact"].as_f64().unwrap();
        let got = sample_size(&input).unwrap();
        // statsmodels solves with brentq to ~1e-10; both sides are exact
        // solutions of the same power equation.
        assert!(
            close(got.per_variant_exact, expected, CLOSED_FORM),
            "{input:?}: got {}, statsmodels {expected}",
            got.per_variant_exact
        );
        assert_eq!(got.per_variant, expected.ceil(), "{input:?}");
    }
}

#[test]
fn corrections_match_statsmodels() {
    let fixture = read_json(&fixtures_dir().join("corrections.json"));
    for case in fixture["cases"].as_array().unwrap() {
        let p: Vec<f64> = serde_json::from_value(case["p_values"].clone()).unwrap();
        for (key, method) in [("holm", Correction::Holm), ("bh", Correction::Bh)] {
            let expected: Vec<f64> = serde_json::from_value(case[key].clone()).unwrap();
            let got = adjust_p_values(&p, method).unwrap();
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    close(*g, *e, CLOSED_FORM),
                    "{key} {p:?}: {got:?} vs {expected:?}"
                );
            }
        }
    }
}

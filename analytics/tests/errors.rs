//! Bad input gives a `StatsError` naming the field and the variant, with a
//! stable code — never a panic and never a NaN in the output.

#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{json, Value};
use vexil_analytics::{
    analyze, analyze_json, duration_days, sample_size, AnalysisInput, DurationInput, PlanMetric,
    SampleSizeInput, StatsError,
};

fn two_arms(control: Value, treatment: Value) -> Value {
    json!({"metric": "mean", "variants": [control, treatment]})
}

fn mean_arm(name: &str, n: f64, sum: f64, ss: f64) -> Value {
    json!({"name": name, "n": n, "sum": sum, "sum_squares": ss})
}

/// Runs the request and returns the rendered error, checking its code.
fn error_of(request: &Value, code: &str) -> String {
    match analyze_json(&request.to_string()) {
        Ok(out) => panic!("expected {code}, got output {out}"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            e.to_string()
        }
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[test]
fn negative_n_names_the_field_and_variant() {
    let req = two_arms(
        mean_arm("control", 100.0, 50.0, 80.0),
        mean_arm("green", -5.0, 1.0, 1.0),
    );
    assert_mentions(&error_of(&req, "S0002"), &["`n`", "`green`"]);
}

#[test]
fn zero_units_are_rejected() {
    let req = two_arms(
        mean_arm("control", 0.0, 0.0, 0.0),
        mean_arm("green", 10.0, 5.0, 9.0),
    );
    assert_mentions(
        &error_of(&req, "S0002"),
        &["`n`", "`control`", "at least 2"],
    );
}

#[test]
fn fractional_units_are_rejected() {
    let req = two_arms(
        mean_arm("control", 10.5, 5.0, 9.0),
        mean_arm("green", 10.0, 5.0, 9.0),
    );
    assert_mentions(&error_of(&req, "S0002"), &["`n`", "whole number"]);
}

#[test]
fn weights_must_match_the_variants() {
    let mut req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 6.0, 9.0),
    );
    req["weights"] = json!([0.5, 0.25, 0.25]);
    assert_mentions(
        &error_of(&req, "S0002"),
        &["`weights`", "3 entries", "2 variants"],
    );
}

#[test]
fn zero_variance_names_the_variant() {
    // Every unit of `green` has the value 2.
    let req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 20.0, 40.0),
    );
    assert_mentions(&error_of(&req, "S0003"), &["`green`", "zero variance"]);
}

#[test]
fn no_conversions_is_zero_variance() {
    let req = json!({"metric": "proportion", "variants": [
        {"name": "control", "n": 100, "sum": 0},
        {"name": "green", "n": 100, "sum": 4},
    ]});
    assert_mentions(&error_of(&req, "S0003"), &["`control`"]);
}

#[test]
fn conversions_cannot_exceed_units() {
    let req = json!({"metric": "proportion", "variants": [
        {"name": "control", "n": 100, "sum": 10},
        {"name": "green", "n": 100, "sum": 140},
    ]});
    assert_mentions(&error_of(&req, "S0002"), &["`sum`", "`green`"]);
}

#[test]
fn a_control_mean_of_zero_makes_relative_lift_undefined() {
    let req = two_arms(
        mean_arm("control", 10.0, 0.0, 9.0),
        mean_arm("green", 10.0, 6.0, 9.0),
    );
    assert_mentions(&error_of(&req, "S0004"), &["`control`", "relative lift"]);
}

#[test]
fn ratio_fields_are_required() {
    let req = json!({"metric": "ratio", "variants": [
        {"name": "control", "n": 10, "sum": 5, "sum_squares": 9},
        {"name": "green", "n": 10, "sum": 6, "sum_squares": 9},
    ]});
    assert_mentions(
        &error_of(&req, "S0002"),
        &["`denominator_sum`", "`control`"],
    );
}

#[test]
fn a_partial_covariate_is_reported() {
    let req = json!({"metric": "mean", "variants": [
        {"name": "control", "n": 10, "sum": 5, "sum_squares": 9, "pre_sum": 3, "pre_sum_squares": 4, "pre_cross_sum": 2},
        {"name": "green", "n": 10, "sum": 6, "sum_squares": 9, "pre_sum": 3},
    ]});
    assert_mentions(&error_of(&req, "S0002"), &["`pre_sum_squares`", "`green`"]);
}

#[test]
fn cuped_on_ratios_is_unsupported() {
    let arm = |name: &str| {
        json!({"name": name, "n": 10, "sum": 5, "sum_squares": 9, "denominator_sum": 10,
               "denominator_sum_squares": 12, "cross_sum": 6, "pre_sum": 3,
               "pre_sum_squares": 4, "pre_cross_sum": 2})
    };
    let req = json!({"metric": "ratio", "variants": [arm("control"), arm("green")]});
    error_of(&req, "S0006");
}

#[test]
fn unknown_fields_and_nan_are_json_errors() {
    let typo = r#"{"metric": "mean", "alpah": 0.1, "variants": []}"#;
    let e = analyze_json(typo).unwrap_err();
    assert_eq!(e.code(), "S0001");
    assert_mentions(&e.to_string(), &["alpah"]);
    let nan = r#"{"metric": "mean", "variants": [{"name": "a", "n": NaN, "sum": 1}]}"#;
    assert_eq!(analyze_json(nan).unwrap_err().code(), "S0001");
}

#[test]
fn nan_through_the_rust_api_names_the_field() {
    let req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 6.0, 9.0),
    );
    let mut input: AnalysisInput = serde_json::from_value(req).unwrap();
    input.variants[1].sum = f64::NAN;
    let e = analyze(&input).unwrap_err();
    assert!(
        matches!(&e, StatsError::InvalidField { variant: Some(v), field, .. } if v == "green" && field == "sum"),
        "{e:?}"
    );
}

#[test]
fn alpha_outside_the_unit_interval_is_rejected() {
    let mut req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 6.0, 9.0),
    );
    req["alpha"] = json!(1.5);
    assert_mentions(&error_of(&req, "S0002"), &["`alpha`"]);
}

#[test]
fn beta_binomial_needs_conversions() {
    let mut req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 6.0, 9.0),
    );
    req["bayes_method"] = json!("beta_binomial");
    error_of(&req, "S0006");
}

#[test]
fn beta_binomial_refuses_counts_beyond_its_precision() {
    let req = json!({"metric": "proportion", "bayes_method": "beta_binomial", "variants": [
        {"name": "control", "n": 1_000_000, "sum": 300_000},
        {"name": "green", "n": 1_000_000, "sum": 301_000},
    ]});
    assert_mentions(&error_of(&req, "S0006"), &["`control`", "Gaussian method"]);
}

#[test]
fn huge_values_error_instead_of_overflowing() {
    let req = two_arms(
        mean_arm("control", 10.0, 5.0, 9.0),
        mean_arm("green", 10.0, 1e200, 1e300),
    );
    assert_mentions(&error_of(&req, "S0002"), &["`green`", "too large"]);
}

#[test]
fn planning_inputs_are_checked() {
    let base = SampleSizeInput {
        metric: PlanMetric::Proportion,
        baseline: 0.1,
        stddev: None,
        mde: 0.05,
        alpha: 0.05,
        power: 0.8,
    };
    let bad_baseline = SampleSizeInput {
        baseline: 1.2,
        ..base.clone()
    };
    assert_mentions(
        &sample_size(&bad_baseline).unwrap_err().to_string(),
        &["`baseline`"],
    );
    let no_sd = SampleSizeInput {
        metric: PlanMetric::Mean,
        ..base.clone()
    };
    assert_mentions(&sample_size(&no_sd).unwrap_err().to_string(), &["`stddev`"]);
    let zero_mde = SampleSizeInput { mde: 0.0, ..base };
    assert_mentions(&sample_size(&zero_mde).unwrap_err().to_string(), &["`mde`"]);
    let no_traffic = DurationInput {
        per_variant: 1000.0,
        daily_traffic: 0.0,
        traffic_allocation: 1.0,
        variants: 2,
    };
    assert_mentions(
        &duration_days(&no_traffic).unwrap_err().to_string(),
        &["`daily_traffic`"],
    );
}

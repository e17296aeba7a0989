//! The analytics commands run as processes: `stats`, `plan`, `ingest`,
//! `simulate` and `analyze`, their output and exit codes.

// Helpers shared by the tests unwrap as the tests do.
#![allow(clippy::unwrap_used)]

use predicates::prelude::*;

mod support;
use support::{root, vexil};

fn json_of(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("JSON on standard output")
}

// ---------------------------------------------------------------- stats

/// A gbstats reference fixture: CUPED, three arms, sequential, Holm.
const FIXTURE: &str = "analytics/fixtures/analysis/cuped_mean_sequential_three.json";

#[test]
fn stats_gives_every_documented_field_and_matches_the_reference() {
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(FIXTURE)).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("request.json");
    std::fs::write(&request, fixture["input"].to_string()).unwrap();
    let out = vexil()
        .arg("stats")
        .arg(&request)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let result = json_of(&out);
    for field in [
        "metric",
        "alpha",
        "control",
        "variants",
        "srm_p_value",
        "srm_flagged",
    ] {
        assert!(result.get(field).is_some(), "missing `{field}`");
    }
    let variant = &result["variants"][0];
    for scale in ["absolute", "relative"] {
        for field in [
            "point",
            "se",
            "ci_lower",
            "ci_upper",
            "p_value",
            "p_value_adjusted",
        ] {
            assert!(variant[scale][field].is_number(), "missing {scale}.{field}");
        }
    }
    for field in [
        "posterior_sd",
        "chance_to_win",
        "risk_control",
        "risk_treatment",
        "ci_lower",
        "ci_upper",
    ] {
        assert!(variant["bayes"][field].is_number(), "missing bayes.{field}");
    }
    assert!(variant["sequential"]["relative"]["ci_lower"].is_number());
    assert!(variant["cuped"]["theta"].is_number());
    let expected = &fixture["expected"]["variants"][0];
    for (got, want) in [
        (
            &variant["relative"]["point"],
            &expected["relative"]["point"],
        ),
        (
            &variant["relative"]["p_value"],
            &expected["relative"]["p_value"],
        ),
        (
            &variant["bayes"]["chance_to_win"],
            &expected["bayes"]["chance_to_win"],
        ),
        (
            &variant["bayes"]["posterior_sd"],
            &expected["bayes"]["posterior_sd"],
        ),
    ] {
        let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-12), "{g} != {w}");
    }
}

#[test]
fn stats_reads_standard_input_and_names_bad_fields() {
    let request = r#"{"metric": "proportion", "variants": [
        {"name": "control", "n": 5000, "sum": 500},
        {"name": "treatment", "n": 5000, "sum": 560}]}"#;
    let out = vexil()
        .args(["stats", "-"])
        .write_stdin(request)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let point = json_of(&out)["variants"][0]["relative"]["point"]
        .as_f64()
        .unwrap();
    assert!((point - 0.12).abs() < 1e-12);
    vexil()
        .args(["stats", "-"])
        .write_stdin(r#"{"metric": "proportion", "variants": [{"name": "a", "n": 10, "sum": 11}, {"name": "b", "n": 10, "sum": 1}]}"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[S0002]: `sum` of variant `a`"));
    vexil()
        .args(["stats", "-"])
        .write_stdin(r#"{"metric": "proportion", "alpah": 0.1, "variants": []}"#)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("S0001").and(predicate::str::contains("alpah")));
    vexil()
        .args(["stats", "missing.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read `missing.json`"));
}

#[test]
fn stats_help_documents_the_fields() {
    vexil()
        .args(["stats", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pre_cross_sum"))
        .stdout(predicate::str::contains("risk_treatment"))
        .stdout(predicate::str::contains("posterior_sd"))
        .stdout(predicate::str::contains("STATISTICS.md"))
        .stdout(predicate::str::contains(
            "the query `vexil analyze DIR EXPERIMENT --sql` prints",
        ));
}

// ---------------------------------------------------------------- plan

#[test]
fn plan_from_flags() {
    let out = vexil()
        .args([
            "plan",
            "--baseline",
            "10%",
            "--mde",
            "5%",
            "--daily-units",
            "1000",
            "--traffic",
            "50%",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = json_of(&out);
    // statsmodels' NormalIndPower: 57,759.8 per arm for 10% → 10.5% at
    // 5%/80% (analytics/fixtures/planning.json).
    assert_eq!(plan["per_variant"], 57_760.0);
    assert_eq!(plan["total_units"], 115_520.0);
    // 115,520 units at 500 a day: 231.04 days.
    assert_eq!(plan["days"], 232.0);
    vexil()
        .args(["plan", "--baseline", "0.1", "--mde", "0.05"])
        .assert()
        .success()
        .stdout(predicate::str::contains("57,760 units per variant"))
        .stdout(predicate::str::contains("give `--daily-units`"));
}

#[test]
fn plan_from_an_experiment_reads_its_planning_block() {
    vexil()
        .args(["plan", "examples/shop", "checkout-layout"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checkout-layout"))
        .stdout(predicate::str::contains("baseline 3.2%"))
        .stdout(predicate::str::contains("40% traffic"))
        .stdout(predicate::str::contains("45 days: enough"));
    // Unequal weights: the 25% arms set the pace.
    let out = vexil()
        .args([
            "plan",
            "examples/shop",
            "shipping-promise",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan = json_of(&out);
    assert_eq!(plan["smallest_share"], 0.25);
    assert_eq!(plan["fits"], true);
    // A flag overrides the block.
    let out = vexil()
        .args([
            "plan",
            "examples/shop",
            "checkout-layout",
            "--mde",
            "1%",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["fits"], false);
}

#[test]
fn plan_errors_name_what_is_missing() {
    vexil()
        .args(["plan", "--mde", "5%"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no baseline: give `--baseline`"));
    vexil()
        .args([
            "plan",
            "--baseline",
            "3%",
            "--mde",
            "5%",
            "--metric",
            "mean",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`--stddev`"));
    vexil()
        .args(["plan", "--baseline", "three", "--mde", "5%"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --baseline `three`"));
    vexil()
        .args(["plan", "examples/shop", "no-such"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no experiment `no-such`"));
}

#[test]
fn plan_needs_two_variants_at_least() {
    for k in ["1", "0"] {
        vexil()
            .args(["plan", "--baseline", "10%", "--mde", "5%", "--variants", k])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(format!(
                "invalid --variants `{k}`: an experiment needs two arms at least, the control and a treatment"
            )));
    }
    vexil()
        .args([
            "plan",
            "--baseline",
            "10%",
            "--mde",
            "5%",
            "--variants",
            "4000000000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at most as many variants"));
    vexil()
        .args([
            "plan",
            "--baseline",
            "10%",
            "--mde",
            "5%",
            "--variants",
            "3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("173,280 in total over 3 variants"));
}

// ---------------------------------------------------------------- ingest

#[test]
fn ingest_reports_counts_rejects_bad_lines_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        concat!(
            r#"{"type":"exposure","experiment":"x","variant":"a","unit":"u-1","time":100}"#,
            "\n",
            r#"{"type":"track","event":"buy","unit":"u-1","time":"yesterday"}"#,
            "\n",
            r#"{"type":"track","event":"buy","unit":"u-1","time":200}"#,
            "\n"
        ),
    )
    .unwrap();
    let store = dir.path().join("store.db");
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "3 lines: 1 exposure and 1 metric event added, 0 duplicates, 1 rejected",
        ))
        .stderr(predicate::str::contains(
            "events.jsonl:2: `time` `yesterday` is not a time: expected an RFC 3339 timestamp",
        ));
    let out = vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .args(["--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report = json_of(&out);
    assert_eq!(report["files"][0]["duplicates"], 2);
    assert_eq!(report["files"][0]["errors"][0]["line"], 2);
    assert_eq!(report["stored"]["exposures"], 1);
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(dir.path().join("missing.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
}

// ---------------------------------------------------------------- simulate and analyze

#[test]
fn simulate_ingest_analyze_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("sim.jsonl");
    let store = dir.path().join("store.db");
    let html = dir.path().join("report.html");
    vexil()
        .args([
            "simulate",
            "examples/shop",
            "checkout-layout",
            "--units",
            "40000",
        ])
        .args([
            "--days",
            "10",
            "--effect",
            "conversion=40%",
            "--baseline",
            "conversion=20%",
        ])
        .args(["--seed", "3", "-o"])
        .arg(&events)
        .assert()
        .success()
        .stdout(predicate::str::contains("true effect: +40% in one-page"));
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .success();
    vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--events"])
        .arg(&store)
        .arg("--html")
        .arg(&html)
        .assert()
        .success()
        .stdout(predicate::str::contains("conversion (primary)"))
        .stdout(predicate::str::contains("sample ratio ok"))
        .stdout(predicate::str::contains("better"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<svg") && page.contains("forest plot"));
    assert!(page.contains("cumulative lift by day"));
    assert!(
        !page.contains("<script") && !page.contains("http://fonts") && !page.contains("src=\"http")
    );
    let out = vexil()
        .args([
            "analyze",
            "examples/shop",
            "checkout-layout",
            "--format",
            "json",
            "--events",
        ])
        .arg(&store)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&out);
    let conversion = &report["metrics"][0];
    assert_eq!(conversion["name"], "conversion");
    let relative = &conversion["comparisons"][0]["relative"];
    let (lo, hi) = (
        relative["ci_lower"].as_f64().unwrap(),
        relative["ci_upper"].as_f64().unwrap(),
    );
    assert!(lo < 0.40 && 0.40 < hi, "[{lo}, {hi}]");
    assert!(relative["p_value_adjusted"].is_number());
    assert!(!report["timeline"][0]["points"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(report["sequential"], false);

    // Sequential testing: the header says so, and the confidence sequence
    // holds the fixed-horizon interval.
    vexil()
        .args([
            "analyze",
            "examples/shop",
            "checkout-layout",
            "--sequential",
        ])
        .arg("--events")
        .arg(&store)
        .assert()
        .success()
        .stdout(predicate::str::contains("sequential (always valid"))
        .stdout(predicate::str::contains("95% sequence"));
    let out = vexil()
        .args([
            "analyze",
            "examples/shop",
            "checkout-layout",
            "--sequential",
        ])
        .args(["--format", "json", "--events"])
        .arg(&store)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sequential = json_of(&out);
    assert_eq!(sequential["sequential"], true);
    let s = &sequential["metrics"][0]["comparisons"][0]["relative"];
    assert!(s["ci_lower"].as_f64().unwrap() < lo && s["ci_upper"].as_f64().unwrap() > hi);
    vexil()
        .args(["analyze", "examples/shop", "checkout-layout"])
        .args(["--sequential", "--sequential-tuning=-3", "--events"])
        .arg(&store)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --sequential-tuning"));
}

#[test]
fn analyze_exits_1_when_the_data_is_unusable_and_2_on_bad_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let events = dir.path().join("one.jsonl");
    std::fs::write(
        &events,
        r#"{"type":"exposure","experiment":"checkout-layout","variant":"one-page","unit":"u-1","time":1764547200000000}"#,
    )
    .unwrap();
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .success();
    let out = vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--events"])
        .arg(&store)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error: variant `multi-page` has 0 exposed units",
        ))
        .get_output()
        .stdout
        .clone();
    // Why a metric cannot be analysed goes under its row, and does not
    // widen the variant column of the whole table.
    let text = String::from_utf8(out).unwrap();
    let header = text.lines().find(|l| l.starts_with("metric")).unwrap();
    assert!(header.contains("  variant     units  "), "{header}");
    assert!(text
        .contains("\n                                cannot analyse: `n` of variant `multi-page`"));
    vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--events"])
        .arg(dir.path().join("nope.db"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no event store at"));
    vexil()
        .args(["analyze", "examples/shop", "no-such", "--events"])
        .arg(&store)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "experiments: checkout-layout, shipping-promise",
        ));
    vexil()
        .args([
            "analyze",
            "examples/shop-broken",
            "checkout-layout",
            "--events",
        ])
        .arg(&store)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the flags do not compile"));
}

#[test]
fn simulate_refuses_unknown_metrics_and_shared_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    vexil()
        .args([
            "simulate",
            "examples/shop",
            "checkout-layout",
            "--effect",
            "revenue=5%",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`revenue` is not a metric of `checkout-layout`",
        ));
    vexil()
        .args([
            "simulate",
            "examples/shop",
            "checkout-layout",
            "--effect",
            "conversion",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("write METRIC=VALUE"));
}

/// `--sql` prints the metric query of the experiment (the same
/// text and parameters as `vexil_events::metrics_query` over its metrics),
/// as a script with comments, or as JSON with the columns named.
#[test]
fn analyze_sql_prints_the_metric_query() {
    let mut project = vexil_compiler::Project::from_dir(&root().join("examples/shop")).unwrap();
    project.set_today(None);
    let bundle = project.bundle(false).unwrap();
    let experiment = bundle
        .experiments
        .iter()
        .find(|e| e.name == "checkout-layout")
        .unwrap();
    for cuped in [true, false] {
        let specs: Vec<vexil_events::MetricSpec> = experiment
            .metrics
            .iter()
            .map(|m| vexil_events::MetricSpec::from_ir(m, cuped))
            .collect();
        let (sql, parameters) = vexil_events::metrics_query("checkout-layout", &specs);
        let mut args = vec!["analyze", "examples/shop", "checkout-layout", "--sql"];
        if !cuped {
            args.push("--no-cuped");
        }
        let out = vexil()
            .args(&args)
            .args(["--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let query = json_of(&out);
        assert_eq!(query["sql"], sql.as_str());
        assert_eq!(query["parameters"], serde_json::json!(parameters));
        assert_eq!(query["control"], "multi-page");
        let columns = query["columns"].as_array().unwrap();
        assert_eq!(columns[..4], ["variant", "day", "units", "conversion.sum"]);
        assert_eq!(
            columns.iter().any(|c| c == "conversion.pre_cross_sum"),
            cuped
        );
        assert!(columns.iter().any(|c| c == "items-per-checkout.cross_sum"));
        // One column per sum the outer query selects, after variant, day, units.
        let outer = sql.split("COUNT(*) AS units").nth(1).unwrap();
        assert_eq!(columns.len() - 3, outer.matches("SUM(").count());

        let text = vexil()
            .args(&args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("-- The metric query of `checkout-layout`"));
        assert!(text.contains("-- Parameters, in order: 'checkout-layout', 'purchase', "));
        assert!(text.contains(
            "--   m2_*: items-per-checkout (ratio): sum, sum_squares, denominator_sum, denominator_sum_squares, cross_sum\n"
        ));
        assert!(text.contains("(the control is `multi-page`)"));
        assert!(text.ends_with(&format!("{sql};\n")));
    }
    // The query needs no store, and is not an analysis of one.
    vexil()
        .args([
            "analyze",
            "examples/shop",
            "checkout-layout",
            "--sql",
            "--events",
            "x.db",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    vexil()
        .args(["analyze", "examples/shop", "checkout-layout"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--events <STORE>"));
}

/// A store without exposures of the experiment: one sentence saying there
/// is nothing to analyse, no table, no sample-ratio verdict, no correction
/// over zero comparisons; exit status 1.
#[test]
fn analyze_without_exposures_has_nothing_to_analyse() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let events = dir.path().join("tracks.jsonl");
    std::fs::write(
        &events,
        r#"{"type":"track","event":"purchase","unit":"u-1","time":1764547200000000}"#,
    )
    .unwrap();
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .success();
    let html = dir.path().join("report.html");
    let out = vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--events"])
        .arg(&store)
        .arg("--html")
        .arg(&html)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not written: there is nothing to report",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("checkout-layout: nothing to analyse: `"),
        "{text}"
    );
    assert!(text.contains("holds no exposures of it"), "{text}");
    assert!(text.contains("= help: load the exposures the runtime logged with `vexil ingest"));
    for absent in [
        "sample ratio",
        "Holm",
        "comparisons",
        "variant",
        "cannot analyse",
    ] {
        assert!(!text.contains(absent), "`{absent}` in\n{text}");
    }
    assert!(!html.exists());

    let out = vexil()
        .args([
            "analyze",
            "examples/shop",
            "checkout-layout",
            "--format",
            "json",
            "--events",
        ])
        .arg(&store)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report = json_of(&out);
    assert_eq!(report["metrics"], serde_json::json!([]));
    assert_eq!(report["srm"], serde_json::Value::Null);
    assert_eq!(report["variants"][0]["units"], 0);
    assert_eq!(
        report["problems"][0],
        "no exposures of `checkout-layout` in the store"
    );

    // Exposures only to a variant the experiment does not declare: the
    // warning says where they went.
    let typo = dir.path().join("typo.jsonl");
    std::fs::write(
        &typo,
        r#"{"type":"exposure","experiment":"checkout-layout","variant":"one-pgae","unit":"u-1","time":1764547200000000}"#,
    )
    .unwrap();
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&typo)
        .assert()
        .success();
    vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--events"])
        .arg(&store)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("nothing to analyse: no unit in `"))
        .stdout(predicate::str::contains(
            "exposed to `one-pgae`, which `checkout-layout` does not declare",
        ));
}

// ---------------------------------------------------------------- PostgreSQL

/// A new, empty database on the test PostgreSQL server.
fn postgres_url() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(vexil_control::testing::fresh_database())
}

/// The password in a `postgres://user:password@...` URL.
fn password_of(url: &str) -> &str {
    let (_, rest) = url.split_once("://").expect("a URL");
    let (userinfo, _) = rest.rsplit_once('@').expect("user information");
    userinfo.split_once(':').expect("a password").1
}

/// Every number in `a` equals `b`'s to a relative 1e-9, the rest exactly.
fn assert_same_json(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().expect("finite"), y.as_f64().expect("finite"));
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                "{path}: {x} != {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_same_json(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (k, v) in x {
                assert_same_json(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (x, y) => assert_eq!(x, y, "{path}"),
    }
}

fn analyze_json(store: &std::ffi::OsStr) -> serde_json::Value {
    let out = vexil()
        .args(["analyze", "examples/shop", "checkout-layout"])
        .args(["--format", "json", "--events"])
        .arg(store)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_of(&out)
}

#[test]
fn postgres_stores_take_the_same_commands_and_give_the_same_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("sim.jsonl");
    let sqlite = dir.path().join("store.db");
    let simulate = |output: &std::ffi::OsStr| {
        vexil()
            .args(["simulate", "examples/shop", "checkout-layout"])
            .args(["--units", "20000", "--days", "7", "--seed", "5"])
            .args([
                "--effect",
                "conversion=20%",
                "--baseline",
                "conversion=20%",
                "-o",
            ])
            .arg(output)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    simulate(events.as_os_str());
    vexil()
        .arg("ingest")
        .arg(&sqlite)
        .arg(&events)
        .assert()
        .success();

    // `vexil ingest URL`: counts as for a file, the password never shown.
    let url = postgres_url();
    let out = vexil()
        .arg("ingest")
        .arg(&url)
        .arg(&events)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains(" 0 duplicates, 0 rejected"), "{stdout}");
    assert!(!stdout.contains(password_of(&url)), "{stdout}");
    assert!(stdout.contains(":***@127.0.0.1"), "{stdout}");
    // Idempotent, as the SQLite store.
    vexil()
        .arg("ingest")
        .arg(&url)
        .arg(&events)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0 exposures and 0 metric events added",
        ));

    let on_sqlite = analyze_json(sqlite.as_os_str());
    assert!(on_sqlite["metrics"][0]["comparisons"][0]["value"].is_number());
    assert_same_json(&on_sqlite, &analyze_json(url.as_ref()), "report");

    // `vexil simulate -o URL` ingests as it simulates: the same events.
    let direct = postgres_url();
    let said = String::from_utf8(simulate(direct.as_ref())).unwrap();
    assert!(said.contains("metric events added"), "{said}");
    assert!(!said.contains(password_of(&direct)), "{said}");
    assert_same_json(&on_sqlite, &analyze_json(direct.as_ref()), "report");
}

#[test]
fn bad_store_urls_are_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("one.jsonl");
    std::fs::write(
        &events,
        "{\"type\":\"exposure\",\"experiment\":\"x\",\"variant\":\"a\",\"unit\":\"u\",\"time\":1}\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (url, says) in [
        (
            format!("postgres://vexil:s3cret@127.0.0.1:{port}/events"),
            "connecting",
        ),
        (
            "postgres://vexil:s3cret@127.0.0.1:port/events".to_string(),
            "invalid",
        ),
        (
            "mysql://vexil:s3cret@127.0.0.1/events".to_string(),
            "is not a store this vexil reads",
        ),
    ] {
        for args in [
            vec![
                "ingest".to_string(),
                url.clone(),
                events.display().to_string(),
            ],
            vec![
                "analyze".into(),
                support::root().join("examples/shop").display().to_string(),
                "checkout-layout".into(),
                "--events".into(),
                url.clone(),
            ],
        ] {
            vexil()
                .current_dir(dir.path())
                .args(&args)
                .assert()
                .code(2)
                .stderr(predicate::str::contains(says))
                .stderr(predicate::str::contains("vexil:***@127.0.0.1"))
                .stderr(predicate::str::contains("s3cret").not());
        }
    }
    // Nothing was created where the commands ran.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("one.jsonl")]);
}

// ---------------------------------------------------------------- warehouses

/// The tables of a team's own (as `warehouse.py duckdb --mapped` makes
/// them, and the PostgreSQL test below), mapped in `vexil.toml`.
const MAPPING: &str = r#"
[warehouse.exposures]
table = "analytics.assignments"
unit = "user_id"
experiment = "experiment_key"
variant = "arm"
time = "assigned_at"
time_unit = "timestamp"

[warehouse.events]
table = "analytics.tracks"
unit = "user_id"
event = "Event Name"
value = "amount"
time = "occurred_at"
time_unit = "timestamp"
"#;

/// The Python test environment (sqlglot, DuckDB), installed once per test
/// process by scripts/install-clients.sh (pinned; installs or fails).
fn python() -> std::path::PathBuf {
    static INSTALLED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let out = std::process::Command::new("bash")
                .arg(root().join("scripts/install-clients.sh"))
                .output()
                .expect("bash runs scripts/install-clients.sh");
            assert!(
                out.status.success(),
                "installing the Python test packages failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::env::var_os("VEXIL_CLIENTS_VENV")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| root().join("target/clients/venv"))
                .join("bin/python")
        })
        .clone()
}

/// `warehouse.py ARGS`: its standard output; the test fails with its
/// standard error if it fails.
fn warehouse_py(args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(python())
        .arg(root().join("tests/clients/python/warehouse.py"))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "warehouse.py {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// A copy of the shop's flags, with `vexil.toml` holding `toml`.
fn shop_with_project_file(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("examples/shop")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "flag") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("vexil.toml"), toml).unwrap();
    dir
}

/// `vexil analyze DIR checkout-layout --sql ARGS` in JSON: its `sql`.
fn printed_sql(dir: &std::path::Path, args: &[&str]) -> String {
    let out = vexil()
        .arg("analyze")
        .arg(dir)
        .args(["checkout-layout", "--sql", "--format", "json"])
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_of(&out)["sql"].as_str().unwrap().to_string()
}

/// CSV result rows by variant and day: every column's number.
fn rows_of(csv: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.to_lowercase())
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// Appends to a simulated `checkout-layout` file `n` units exposed to both
/// variants (one of them converting), which every analysis must count and
/// leave out.
fn add_mixed_units(events: &std::path::Path, n: usize) {
    let simulated = std::fs::read_to_string(events).unwrap();
    let t0: i64 = simulated
        .lines()
        .find_map(|l| json_of(l.as_bytes())["time"].as_i64())
        .unwrap();
    let day = 86_400_000_000;
    let mut text = simulated;
    for i in 0..n {
        let unit = format!("mixed-{i}");
        let at = t0 + i as i64 * day;
        for (variant, time) in [("multi-page", at), ("one-page", at + day / 2)] {
            text.push_str(&format!(
                "{}\n",
                serde_json::json!({"type": "exposure", "experiment": "checkout-layout",
                    "variant": variant, "unit": unit, "time": time})
            ));
        }
        text.push_str(&format!(
            "{}\n",
            serde_json::json!({"type": "track", "event": "purchase", "unit": unit, "time": at + 1})
        ));
    }
    std::fs::write(events, text).unwrap();
}

/// Rows in any order (engines sort a NULL variant first or last) are the
/// same rows with the same values.
fn assert_same_rows(a: &str, b: &str) {
    let key = |row: &Vec<(String, String)>| {
        let get = |name: &str| {
            row.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        (
            get("variant"),
            get("day").parse::<f64>().unwrap_or(0.0) as i64,
        )
    };
    let (mut a, mut b) = (rows_of(a), rows_of(b));
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a.len(), b.len(), "row counts differ");
    assert!(a.len() > 2, "too few rows to compare: {a:?}");
    for (x, y) in a.iter().zip(&b) {
        for ((kx, vx), (ky, vy)) in x.iter().zip(y) {
            assert_eq!(kx, ky);
            match (vx.parse::<f64>(), vy.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
                    "{kx}: {p} != {q}"
                ),
                _ => assert_eq!(vx, vy, "{kx}"),
            }
        }
    }
}

#[test]
fn every_dialect_parses_with_an_independent_parser() {
    let mapped = shop_with_project_file(MAPPING);
    let shop = root().join("examples/shop");
    let dir = tempfile::tempdir().unwrap();
    for dialect in [
        "postgres",
        "bigquery",
        "snowflake",
        "clickhouse",
        "duckdb",
        "databricks",
        "sqlite",
    ] {
        for (project, tables) in [(shop.as_path(), "own"), (mapped.path(), "mapped")] {
            for cuped in [true, false] {
                let mut args = vec!["--dialect", dialect];
                if !cuped {
                    args.push("--no-cuped");
                }
                let sql = printed_sql(project, &args);
                assert!(!sql.contains('?'), "{dialect}: placeholders left:\n{sql}");
                let file = dir.path().join(format!("{dialect}-{tables}-{cuped}.sql"));
                std::fs::write(&file, &sql).unwrap();
                warehouse_py(&["parse".as_ref(), dialect.as_ref(), file.as_os_str()]);
            }
        }
    }
    // The text form is a script that parses too: comments, then the query.
    let text = vexil()
        .args(["analyze", "examples/shop", "checkout-layout", "--sql"])
        .args(["--dialect", "bigquery"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let file = dir.path().join("script.sql");
    std::fs::write(&file, &text).unwrap();
    warehouse_py(&["parse".as_ref(), "bigquery".as_ref(), file.as_os_str()]);
    assert!(String::from_utf8(text)
        .unwrap()
        .contains("-- Dialect: bigquery."));
}

#[test]
fn duckdb_runs_the_query_and_vexil_stats_reports_its_rows_as_analyze_does() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("sim.jsonl");
    let store = dir.path().join("store.db");
    vexil()
        .args(["simulate", "examples/shop", "checkout-layout"])
        .args(["--units", "30000", "--days", "7", "--seed", "9", "-o"])
        .arg(&events)
        .assert()
        .success();
    add_mixed_units(&events, 3);
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .success();

    // The same sums from DuckDB (over the same events) as from SQLite.
    let duck_sql = dir.path().join("duckdb.sql");
    std::fs::write(
        &duck_sql,
        printed_sql(&root().join("examples/shop"), &["--dialect", "duckdb"]),
    )
    .unwrap();
    let duck_rows = warehouse_py(&["duckdb".as_ref(), duck_sql.as_os_str(), events.as_os_str()]);
    let lite_sql = dir.path().join("sqlite.sql");
    std::fs::write(
        &lite_sql,
        printed_sql(&root().join("examples/shop"), &["--dialect", "sqlite"]),
    )
    .unwrap();
    let lite_rows = warehouse_py(&["sqlite".as_ref(), lite_sql.as_os_str(), store.as_os_str()]);
    assert_same_rows(&duck_rows, &lite_rows);

    // A team's own tables (other names, a schema, timestamps): the same.
    let mapped = shop_with_project_file(MAPPING);
    let mapped_sql = dir.path().join("mapped.sql");
    std::fs::write(
        &mapped_sql,
        printed_sql(mapped.path(), &["--dialect", "duckdb"]),
    )
    .unwrap();
    let mapped_rows = warehouse_py(&[
        "duckdb".as_ref(),
        mapped_sql.as_os_str(),
        events.as_os_str(),
        "--mapped".as_ref(),
    ]);
    assert_same_rows(&mapped_rows, &lite_rows);

    // The rows, as CSV or as Snowflake's JSON Lines (upper-case names,
    // quoted numbers), give `vexil stats` the report `vexil analyze` gives,
    // the units exposed to both variants counted.
    let expected = analyze_json(store.as_os_str());
    assert_eq!(expected["mixed_units"], 3, "{expected}");
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, &duck_rows).unwrap();
    let rows = rows_of(&duck_rows);
    let jsonl: String = rows
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = row
                .iter()
                .map(|(k, v)| (k.to_uppercase(), serde_json::Value::String(v.clone())))
                .collect();
            format!("{}\n", serde_json::Value::Object(object))
        })
        .collect();
    let json_lines = dir.path().join("rows.jsonl");
    std::fs::write(&json_lines, jsonl).unwrap();
    for file in [&csv, &json_lines] {
        let out = vexil()
            .arg("stats")
            .arg(file)
            .args([
                "--experiment",
                "examples/shop",
                "checkout-layout",
                "--format",
                "json",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_same_json(&expected, &json_of(&out), "report");
    }
    // A row that is not a number is named.
    let mut lines: Vec<String> = duck_rows.lines().map(str::to_string).collect();
    let mut fields: Vec<&str> = lines[1].split(',').collect();
    fields[2] = "many";
    lines[1] = fields.join(",");
    std::fs::write(&csv, lines.join("\n")).unwrap();
    vexil()
        .arg("stats")
        .arg(&csv)
        .args(["--experiment", "examples/shop", "checkout-layout"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a number"));
}

#[test]
fn databricks_sql_runs_on_spark_and_gives_the_store_s_rows() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("sim.jsonl");
    let store = dir.path().join("store.db");
    vexil()
        .args(["simulate", "examples/shop", "checkout-layout"])
        .args(["--units", "10000", "--days", "7", "--seed", "11", "-o"])
        .arg(&events)
        .assert()
        .success();
    add_mixed_units(&events, 2);
    vexil()
        .arg("ingest")
        .arg(&store)
        .arg(&events)
        .assert()
        .success();
    let lite_sql = dir.path().join("sqlite.sql");
    std::fs::write(
        &lite_sql,
        printed_sql(&root().join("examples/shop"), &["--dialect", "sqlite"]),
    )
    .unwrap();
    let lite_rows = warehouse_py(&["sqlite".as_ref(), lite_sql.as_os_str(), store.as_os_str()]);
    // Spark SQL (what Databricks runs) over Vexil's tables and over a
    // team's (other names, a database, timestamps): the store's rows.
    let own = dir.path().join("databricks.sql");
    std::fs::write(
        &own,
        printed_sql(&root().join("examples/shop"), &["--dialect", "databricks"]),
    )
    .unwrap();
    let mapped_project = shop_with_project_file(MAPPING);
    let mapped = dir.path().join("databricks-mapped.sql");
    std::fs::write(
        &mapped,
        printed_sql(mapped_project.path(), &["--dialect", "databricks"]),
    )
    .unwrap();
    let (own_csv, mapped_csv) = (dir.path().join("own.csv"), dir.path().join("mapped.csv"));
    warehouse_py(&[
        "spark".as_ref(),
        events.as_os_str(),
        own.as_os_str(),
        mapped.as_os_str(),
        own_csv.as_os_str(),
        mapped_csv.as_os_str(),
    ]);
    let own_rows = std::fs::read_to_string(&own_csv).unwrap();
    assert_same_rows(&own_rows, &lite_rows);
    assert_same_rows(&std::fs::read_to_string(&mapped_csv).unwrap(), &lite_rows);
    // Its rows give `vexil stats` the report `vexil analyze` gives, the two
    // units exposed to both variants counted.
    let expected = analyze_json(store.as_os_str());
    assert_eq!(expected["mixed_units"], 2, "{expected}");
    let out = vexil()
        .arg("stats")
        .arg(&own_csv)
        .args([
            "--experiment",
            "examples/shop",
            "checkout-layout",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_same_json(&expected, &json_of(&out), "report");
}

#[test]
fn a_teams_postgres_tables_are_analysed_through_the_mapping_and_a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("sim.jsonl");
    vexil()
        .args(["simulate", "examples/shop", "checkout-layout"])
        .args(["--units", "20000", "--days", "7", "--seed", "4", "-o"])
        .arg(&events)
        .assert()
        .success();
    add_mixed_units(&events, 2);
    let url = postgres_url();
    vexil()
        .arg("ingest")
        .arg(&url)
        .arg(&events)
        .assert()
        .success();
    // The team's tables: Vexil's, renamed and with timestamps.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |sql: &str| {
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        })
    };
    run(r#"CREATE SCHEMA analytics;
        CREATE TABLE analytics.assignments AS
            SELECT unit AS user_id, experiment AS experiment_key, variant AS arm,
                   TIMESTAMP 'epoch' + time * INTERVAL '1 microsecond' AS assigned_at
            FROM exposures;
        CREATE TABLE analytics.tracks AS
            SELECT unit AS user_id, event AS "Event Name", value AS amount,
                   TIMESTAMP 'epoch' + time * INTERVAL '1 microsecond' AS occurred_at
            FROM events;"#);
    let mapped = shop_with_project_file(MAPPING);
    let analyze = |project: &std::path::Path, warehouse: bool| {
        let mut cmd = vexil();
        cmd.arg("analyze").arg(project).args([
            "checkout-layout",
            "--format",
            "json",
            "--events",
            &url,
        ]);
        if warehouse {
            cmd.arg("--warehouse");
        }
        json_of(&cmd.assert().success().get_output().stdout.clone())
    };
    let report = analyze(mapped.path(), false);
    assert_eq!(report["mixed_units"], 2, "{report}");
    assert_same_json(&report, &analyze(mapped.path(), true), "report");

    // A misspelt column: named with its key, nothing analysed.
    let misspelt =
        shop_with_project_file(&MAPPING.replace("value = \"amount\"", "value = \"amont\""));
    vexil()
        .arg("analyze")
        .arg(misspelt.path())
        .args(["checkout-layout", "--warehouse", "--events", &url])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "`warehouse.events.value` names the column `amont`, which `analytics.tracks` does not have",
        ))
        .stderr(predicate::str::contains(password_of(&url)).not());
    // A misspelt key of the mapping: refused when the file is read.
    let bad_key =
        shop_with_project_file(&MAPPING.replace("variant = \"arm\"", "varaint = \"arm\""));
    vexil()
        .arg("analyze")
        .arg(bad_key.path())
        .args(["checkout-layout", "--sql"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("varaint"));
}

#[test]
fn simulate_rolls_out_a_guarded_flag_through_the_monitor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("search.flag"),
        "context user {\n  key id: string\n}\n\nflag search-v3: bool {\n  kind release\n  default false\n  rule ramp: from 2026-12-10T09:00:00Z => 10% for 4h, 50% for 4h, 100% by user.id\n    guard errors: conversion(search_error) must not increase by 20%\n}\n",
    )
    .unwrap();
    let flags = dir.path().to_str().unwrap();
    let args = |effect: &str| {
        [
            "simulate",
            flags,
            "search-v3",
            "--rollout",
            "--units",
            "400",
            "--baseline",
            "errors=0.1",
            "--effect",
            effect,
            "--seed",
            "7",
        ]
        .map(str::to_string)
    };
    vexil()
        .args(args("errors=1.0"))
        .assert()
        .success()
        .stdout(predicate::str::contains("seed 7: rolled_back at stage"))
        .stdout(predicate::str::contains("1 of 1 rollout stopped"));
    vexil()
        .args(args("errors=0"))
        .assert()
        .success()
        .stdout(predicate::str::contains("seed 7: completed"))
        .stdout(predicate::str::contains("0 of 1 rollout stopped"));
    vexil()
        .args(args("latency=0.1"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`search-v3` has no guardrail `latency`",
        ));
}

//! `POST /v1/events` and the server's own exposures, over HTTP, read back
//! from the event store `vexil analyze` reads.

mod common;

use std::path::Path;

use common::{config, shop, shopper, start};
use serde_json::{json, Value};
use vexil_events::Store;
use vexil_server::{hash_secret, KeyEntry, Scope};

fn with_store(dir: &Path) -> vexil_server::Config {
    let mut c = config(&shop());
    c.events_db = Some(dir.join("events.db"));
    c
}

fn counts(dir: &Path) -> (u64, u64) {
    Store::open_existing(&dir.join("events.db"))
        .expect("the store")
        .counts()
        .expect("counts")
}

fn track(id: &str, unit: &str) -> Value {
    json!({ "type": "track", "id": id, "event": "purchase", "unit": unit, "value": 42.5, "time": "2026-12-01T10:00:00Z" })
}

#[tokio::test]
async fn json_lines_and_arrays_are_stored_and_bad_events_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(with_store(dir.path())).await;

    // JSON Lines, as `vexil ingest` reads them (a blank line is skipped).
    let lines = format!(
        "{}\n\n{}\n",
        track("o-1", "u-1"),
        json!({ "type": "exposure", "experiment": "checkout-layout", "variant": "one-page", "unit": "u-1", "time": 1_764_547_200_000_000_i64 })
    );
    let (status, _, body) = server.post_raw("/v1/events", lines, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 2, "{body}");
    assert_eq!(body["rejected"], 0, "{body}");
    // One exposure: the shop's `test` blocks, run before serving, record none.
    assert_eq!(counts(dir.path()), (1, 1));

    // An array; one event sent again (a duplicate, accepted, not stored
    // twice) and two bad ones, named by index with their reasons.
    let array = json!([
        track("o-2", "u-2"),
        { "type": "track", "event": "purchase", "unit": "u-3" },
        track("o-1", "u-1"),
        { "type": "track", "event": "purchase", "unit": "u-4", "time": 1, "vaule": 3 },
    ]);
    let (status, _, body) = server.post("/v1/events", &array).await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(
        (
            &body["accepted"],
            &body["stored"],
            &body["duplicates"],
            &body["rejected"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(2)),
        "{body}"
    );
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(errors[0]["index"], 1);
    assert!(
        errors[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("a track line needs `time`")),
        "{body}"
    );
    assert_eq!(errors[1]["index"], 3);
    assert!(
        errors[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("vaule")),
        "{body}"
    );
    assert_eq!(counts(dir.path()), (1, 2));

    // A JSON Lines body names lines too.
    let (status, _, body) = server
        .post_raw(
            "/v1/events",
            format!("{}\n{{\"type\":\"click\"}}\n", track("o-3", "u-3")),
            &[],
        )
        .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(
        (&body["errors"][0]["index"], &body["errors"][0]["line"]),
        (&json!(1), &json!(2))
    );

    // Nothing good: 400, with the reasons and an error body; nothing stored.
    let (status, _, body) = server
        .post_raw("/v1/events", "{\"type\":\"track\"}\nnot json\n".into(), &[])
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorCode"], "PARSE_ERROR");
    assert_eq!(body["rejected"], 2);
    for bad in ["", "   \n", "[{\"type\": ", "[]"] {
        let (status, _, body) = server.post_raw("/v1/events", bad.into(), &[]).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["errorDetails"].is_string(), "{body}");
    }
    assert_eq!(counts(dir.path()), (1, 3));

    let (_, _, metrics) = server.get("/metrics", &[]).await;
    assert!(
        metrics.contains("vexil_events_accepted_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vexil_events_rejected_total 5"),
        "{metrics}"
    );
    server.running.stop().await;
}

#[tokio::test]
async fn client_keys_may_send_events_and_no_key_may_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = with_store(dir.path());
    c.keys = vec![KeyEntry {
        name: "web".into(),
        scope: Scope::Client,
        sha256: hash_secret("client-secret"),
    }];
    let server = start(c).await;
    let body = track("o-1", "u-1").to_string();
    let (status, _, answer) = server.post_raw("/v1/events", body.clone(), &[]).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _, answer) = server
        .post_raw("/v1/events", body.clone(), &[("x-api-key", "wrong")])
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(counts(dir.path()), (0, 0));
    let (status, _, answer) = server
        .post_raw(
            "/v1/events",
            body,
            &[("authorization", "Bearer client-secret")],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(counts(dir.path()), (0, 1));
    server.running.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_no_store_means_no_intake() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = with_store(dir.path());
    c.limits.body_bytes = 1024;
    let server = start(c).await;
    let big: Vec<Value> = (0..100).map(|i| track(&format!("o-{i}"), "u-1")).collect();
    let (status, _, body) = server.post("/v1/events", &json!(big)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(counts(dir.path()), (0, 0));
    server.running.stop().await;

    let server = start(config(&shop())).await;
    let (status, _, body) = server
        .post_raw("/v1/events", track("o-1", "u-1").to_string(), &[])
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["errorDetails"]
            .as_str()
            .is_some_and(|d| d.contains("events_db")),
        "{body}"
    );
    server.running.stop().await;
}

#[tokio::test]
async fn experiments_evaluated_through_ofrep_record_one_exposure_per_unit() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(with_store(dir.path())).await;
    let mut enrolled = Vec::new();
    for i in 0..60 {
        let unit = format!("u-{i}");
        let mut context = shopper(&unit);
        context["location"]["country"] = json!("US");
        for _ in 0..2 {
            let (status, body) = server.evaluate("checkout-layout", &context).await;
            assert_eq!(status, 200, "{body}");
            if body["reason"] == "SPLIT" && !enrolled.contains(&unit) {
                enrolled.push(unit.clone());
            }
        }
        let (status, _, _) = server
            .post("/ofrep/v1/evaluate/flags", &json!({ "context": context }))
            .await;
        assert_eq!(status, 200);
    }
    assert!(
        enrolled.len() >= 5,
        "too few units in the experiment to test with: {enrolled:?}"
    );
    // Stopping commits what is queued.
    server.running.stop().await;
    let store = Store::open_existing(&dir.path().join("events.db")).expect("store");
    let mut rows: Vec<(String, String)> = store
        .connection()
        .expect("an SQLite store")
        .prepare("SELECT unit, variant FROM exposures WHERE experiment = 'checkout-layout'")
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.sort();
    let mut units: Vec<String> = rows.iter().map(|(u, _)| u.clone()).collect();
    units.dedup();
    assert_eq!(units.len(), rows.len(), "a unit recorded twice: {rows:?}");
    enrolled.sort();
    assert_eq!(units, enrolled);
}

#[tokio::test]
async fn a_store_that_cannot_write_answers_503_with_retry_after_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(with_store(dir.path())).await;
    let (status, _, body) = server
        .post("/v1/events", &json!([track("o-1", "u-1")]))
        .await;
    assert_eq!(status, 200, "{body}");

    // The store refuses every write, as a full or failing disk would.
    let db = Store::open_existing(&dir.path().join("events.db")).expect("the store");
    db.connection()
        .expect("an SQLite store")
        .execute_batch(
            "CREATE TRIGGER full_disk BEFORE INSERT ON events
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .expect("trigger");
    let batch = json!([track("o-2", "u-2"), track("o-3", "u-3")]);
    let (status, headers, body) = server.post("/v1/events", &batch).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert_eq!(body["errorCode"], "UNAVAILABLE", "{body}");
    let details = body["errorDetails"].as_str().unwrap_or_default();
    assert!(
        details.contains("nothing was stored") && details.contains("disk is full"),
        "{body}"
    );
    assert_eq!(counts(dir.path()), (0, 1));
    // The server keeps serving evaluations meanwhile.
    let (status, body) = server.evaluate("checkout-layout", &shopper("u-9")).await;
    assert_eq!(status, 200, "{body}");

    // Once the store can write again, the same batch is taken whole.
    db.connection()
        .expect("an SQLite store")
        .execute_batch("DROP TRIGGER full_disk")
        .expect("drop");
    let (status, _, body) = server.post("/v1/events", &batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 2, "{body}");
    assert_eq!(counts(dir.path()).1, 3);
    server.running.stop().await;
}

#[tokio::test]
async fn a_caller_that_reports_rendered_exposures_gets_none_recorded_by_the_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start(with_store(dir.path())).await;
    // Units of the shop's tests: u-5003 and u-5008 are enrolled in checkout-layout.
    let rendered = [("Vexil-Exposures", "rendered")];
    for unit in ["u-5003", "u-5008"] {
        let mut context = shopper(unit);
        context["location"]["country"] = json!("US");
        let body = json!({ "context": context }).to_string();
        let (status, _, answer) = server
            .post_raw(
                "/ofrep/v1/evaluate/flags/checkout-layout",
                body.clone(),
                &rendered,
            )
            .await;
        assert_eq!(
            (status, &answer["reason"]),
            (200, &json!("SPLIT")),
            "{answer}"
        );
        let (status, _, _) = server
            .post_raw("/ofrep/v1/evaluate/flags", body, &rendered)
            .await;
        assert_eq!(status, 200);
    }
    // Without the header, the server records as before.
    let mut context = shopper("u-5008");
    context["location"]["country"] = json!("US");
    let (status, _) = server.evaluate("checkout-layout", &context).await;
    assert_eq!(status, 200);
    server.running.stop().await;
    let store = Store::open_existing(&dir.path().join("events.db")).expect("store");
    let units: Vec<String> = store
        .connection()
        .expect("an SQLite store")
        .prepare("SELECT unit FROM exposures WHERE experiment = 'checkout-layout'")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(units, ["u-5008"]);
}

/// A guarded rollout on `vexil serve`, with the clock moved by the test:
/// the OFREP answers follow the stages, the monitor compares the two sides
/// from the event store and, the new experience doubling the error rate,
/// rolls the rule back (0% at once) with the evidence in the audit log.
const GUARDED: &str = "\
context user {
  key id: string
}

flag search-v3: bool {
  kind release
  default false
  rule ramp: from 2026-12-10T09:00:00Z => 20% for 1h, 50% for 1d, 100% by user.id
    guard errors: conversion(search_error) must not increase by 10%
}
";

/// 2026-12-10T09:00:00Z, when `GUARDED`'s first stage starts.
const T0: i64 = 1_796_893_200_000_000;

/// A server of `GUARDED` with an event store at `events_db` (a file in a
/// temporary directory when `None`) and a clock the test moves.
struct Guarded {
    server: common::Server,
    config: vexil_server::Config,
    clock: std::sync::Arc<std::sync::atomic::AtomicI64>,
    _dir: tempfile::TempDir,
}

impl Guarded {
    async fn start(events_db: Option<String>) -> Guarded {
        use std::sync::atomic::{AtomicI64, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("tmp");
        let flags = dir.path().join("flags");
        std::fs::create_dir_all(&flags).expect("dir");
        std::fs::write(flags.join("search.flag"), GUARDED).expect("write");
        let clock = Arc::new(AtomicI64::new(T0 - 3_600_000_000));
        let mut c = config(&flags);
        c.events_db = Some(match events_db {
            Some(url) => url.into(),
            None => dir.path().join("events.db"),
        });
        let read = Arc::clone(&clock);
        c.clock = vexil_server::Clock::fixed_by(move || read.load(Ordering::SeqCst));
        let server = start(c.clone()).await;
        Guarded {
            server,
            config: c,
            clock,
            _dir: dir,
        }
    }

    fn set_clock(&self, at: i64) {
        self.clock.store(at, std::sync::atomic::Ordering::SeqCst);
    }

    /// The units among `u-0` to `u-{n-1}` served the new experience.
    async fn served(&self, n: usize) -> Vec<String> {
        let mut on = Vec::new();
        for i in 0..n {
            let id = format!("u-{i}");
            let (status, body) = self
                .server
                .evaluate("search-v3", &json!({ "user": { "id": id } }))
                .await;
            assert_eq!(status, 200, "{body}");
            if body["value"] == true {
                on.push(id);
            }
        }
        on
    }

    /// Before the first stage nobody is served; stage 1 serves about 20%
    /// of 1000 units; half the served err, one in ten of the others; the
    /// monitor's check rolls back. Returns that check's statuses.
    async fn roll_back(&self) -> Value {
        assert!(self.served(50).await.is_empty());
        self.set_clock(T0 + 60_000_000);
        let on = self.served(1000).await;
        assert!((150..250).contains(&on.len()), "{}", on.len());
        let at = T0 + 120_000_000;
        let errors: Vec<Value> = (0..1000)
            .map(|i| format!("u-{i}"))
            .filter(|id| {
                (on.contains(id) && id.ends_with(['0', '2', '4', '6', '8'])) || id.ends_with('7')
            })
            .map(|id| json!({ "type": "track", "event": "search_error", "unit": id, "time": at }))
            .collect();
        // Acknowledged once committed, after the exposures queued before it.
        let (status, _, body) = self.server.post("/v1/events", &Value::from(errors)).await;
        assert_eq!(status, 200, "{body}");
        self.set_clock(T0 + 180_000_000);
        let statuses = self.server.running.check_rollouts().await;
        let ramp = &statuses[0];
        assert_eq!(ramp["state"], "rolled_back", "{statuses:#}");
        assert_eq!(ramp["stage"], 1, "{statuses:#}");
        assert_eq!(
            ramp["check"]["guards"][0]["state"], "breached",
            "{statuses:#}"
        );
        statuses
    }

    async fn audit(&self) -> Vec<Value> {
        let (status, _, text) = self.server.get("/v1/audit?flag=search-v3", &[]).await;
        assert_eq!(status, 200, "{text}");
        let audit: Value = serde_json::from_str(&text).expect("JSON");
        audit["entries"].as_array().cloned().expect("entries")
    }
}

#[tokio::test]
async fn a_guarded_rollout_follows_its_stages_and_is_rolled_back_on_a_breach() {
    let guarded = Guarded::start(None).await;
    let statuses = guarded.roll_back().await;
    let ramp = &statuses[0];
    let served = |n| guarded.served(n);
    let server = &guarded.server;

    // 0% right after the rollback.
    common::wait_for("the rollback to be served", || async {
        served(200).await.is_empty()
    })
    .await;

    // The audit log holds the evidence, then the override.
    let entries = guarded.audit().await;
    let breach = entries
        .iter()
        .find(|e| e["kind"] == "guardrail_breached")
        .expect("a guardrail_breached entry");
    assert_eq!(breach["actor"], "rollout-monitor");
    let evidence = &breach["after"];
    assert_eq!(evidence["guard"]["name"], "errors", "{evidence:#}");
    assert!(evidence["guard"]["p_harm"]
        .as_f64()
        .is_some_and(|p| p < evidence["guard"]["alpha"].as_f64().unwrap_or(0.0)));
    assert!(
        evidence["units_new"].as_u64().is_some_and(|n| n > 100),
        "{evidence:#}"
    );
    assert!(entries.iter().any(|e| e["kind"] == "override_set"
        && e["actor"] == "rollout-monitor"
        && e["after"]["action"]["percent"] == 0.0));

    // `GET /v1/rollouts` says so too.
    let (status, _, text) = server.get("/v1/rollouts", &[]).await;
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(list["rollouts"][0]["state"], "rolled_back", "{list:#}");

    // So does the dashboard's Rollouts page: the state, the stage, the
    // timeline with the current time, the guardrail's effect and interval,
    // and the monitor's actions from the audit log.
    let (status, html) = server.admin_page("any", "/admin/rollouts").await;
    assert_eq!(status, 200, "{html}");
    let section = &html[html.find("data-flag=\"search-v3\"").expect("the rollout")..];
    assert!(section.contains("data-state=\"rolled_back\""), "{section}");
    assert!(
        section.contains("stage <strong class=\"stage\">1 of 3</strong> (20%)"),
        "{section}"
    );
    assert!(
        section.contains("next stage at 2026-12-10T10:00:00Z"),
        "{section}"
    );
    assert!(section.contains("<svg class=\"chart\""), "{section}");
    assert!(section.contains(">now</text>"), "{section}");
    let row = &section[section
        .find("data-guard=\"errors\"")
        .expect("the guardrail")..];
    let effect = ramp["check"]["guards"][0]["relative"]["point"]
        .as_f64()
        .expect("an effect");
    assert!(row.contains(&format!("{:+.1}%", effect * 100.0)), "{row}");
    assert!(row.contains("breached"), "{row}");
    assert!(section.contains(">guardrail_breached<"), "{section}");
    assert!(section.contains(">override_set<"), "{section}");
    assert!(section.contains("rule ramp at 0%"), "{section}");
    guarded.server.running.stop().await;
}

/// The monitor reads its comparisons through the event store's interface:
/// the same rollback with the events in PostgreSQL.
#[tokio::test]
async fn a_guarded_rollout_is_rolled_back_from_a_postgres_event_store() {
    let url = vexil_control::testing::fresh_database().await;
    let guarded = Guarded::start(Some(url)).await;
    let statuses = guarded.roll_back().await;
    let guard = &statuses[0]["check"]["guards"][0];
    assert!(
        guard["p_harm"].as_f64().is_some_and(|p| p < 0.05),
        "{guard:#}"
    );
    common::wait_for("the rollback to be served", || async {
        guarded.served(200).await.is_empty()
    })
    .await;
    let entries = guarded.audit().await;
    assert!(entries.iter().any(|e| e["kind"] == "guardrail_breached"
        && e["after"]["units_new"].as_u64().is_some_and(|n| n > 100)));
    guarded.server.running.stop().await;
}

/// Once per stage, from the audit log: a stage a person resumed is not
/// stopped again on the same evidence, by the same server nor by one
/// restarted on the same control store.
#[tokio::test]
async fn a_resumed_stage_stays_resumed_after_a_restart() {
    let guarded = Guarded::start(None).await;
    guarded.roll_back().await;
    let (status, _, _) = guarded
        .server
        .send(
            reqwest::Method::DELETE,
            "/v1/overrides/search-v3",
            &[("if-match", "*")],
            Some(json!({ "reason": "rollout resumed: the index is fixed" }).to_string()),
        )
        .await;
    assert_eq!(status, 200);
    let statuses = guarded.server.running.check_rollouts().await;
    assert_eq!(statuses[0]["state"], "rolling", "{statuses:#}");

    // The same evidence and stage, a new process on the same stores.
    let Guarded {
        server,
        config,
        clock,
        _dir,
    } = guarded;
    server.running.stop().await;
    let guarded = Guarded {
        server: start(config.clone()).await,
        config,
        clock,
        _dir,
    };
    let statuses = guarded.server.running.check_rollouts().await;
    assert_eq!(statuses[0]["state"], "rolling", "{statuses:#}");
    assert_eq!(
        statuses[0]["check"]["guards"][0]["state"], "breached",
        "{statuses:#}"
    );
    let served = guarded.served(1000).await.len();
    assert!((150..250).contains(&served), "{served}");
    let breaches = guarded
        .audit()
        .await
        .into_iter()
        .filter(|e| e["kind"] == "guardrail_breached")
        .count();
    assert_eq!(breaches, 1);
    guarded.server.running.stop().await;
}

/// `min sample N per stage`: a stage that ends before each side saw N
/// units is held at its share once the next one starts by the clock.
#[tokio::test]
async fn a_stage_short_of_its_minimum_sample_is_held() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    const FLAGS: &str = "\
context user {
  key id: string
}

flag search-v3: bool {
  kind release
  default false
  rule ramp: from 2026-12-10T09:00:00Z => 20% for 1h, 50% for 1d, 100% by user.id
    guard errors: conversion(search_error) must not increase by 10%
    min sample 1000 per stage
}
";
    let dir = tempfile::tempdir().expect("tmp");
    let flags = dir.path().join("flags");
    std::fs::create_dir_all(&flags).expect("dir");
    std::fs::write(flags.join("search.flag"), FLAGS).expect("write");
    let t0: i64 = 1_796_893_200_000_000; // 2026-12-10T09:00:00Z
    let clock = Arc::new(AtomicI64::new(t0 + 60_000_000));
    let mut c = config(&flags);
    c.events_db = Some(dir.path().join("events.db"));
    let read = Arc::clone(&clock);
    c.clock = vexil_server::Clock::fixed_by(move || read.load(Ordering::SeqCst));
    let server = start(c).await;
    let share = |n: usize| {
        let server = &server;
        async move {
            let mut on = 0;
            for i in 0..n {
                let (status, body) = server
                    .evaluate("search-v3", &json!({ "user": { "id": format!("u-{i}") } }))
                    .await;
                assert_eq!(status, 200, "{body}");
                on += usize::from(body["value"] == true);
            }
            on
        }
    };
    assert!((20..60).contains(&share(200).await));
    // Acknowledged after the exposures queued before it are committed.
    let error = json!([{ "type": "track", "event": "search_error", "unit": "u-0", "time": t0 + 120_000_000 }]);
    let (status, _, body) = server.post("/v1/events", &error).await;
    assert_eq!(status, 200, "{body}");

    // Stage 2 starts by the clock, but stage 1 saw 200 units, not 1000.
    clock.store(t0 + 3_660_000_000, Ordering::SeqCst);
    let statuses = server.running.check_rollouts().await;
    assert_eq!(statuses[0]["state"], "paused", "{statuses:#}");
    assert_eq!(
        statuses[0]["action"]["action"]["percent"], 20.0,
        "{statuses:#}"
    );
    common::wait_for("the held stage to be served", || async {
        (20..60).contains(&share(200).await)
    })
    .await;
    server.running.stop().await;
}

#[tokio::test]
async fn a_postgres_event_store_takes_the_intake() {
    let url = vexil_control::testing::fresh_database().await;
    let mut c = config(&shop());
    c.events_db = Some(url.clone().into());
    let server = start(c).await;
    let lines = format!(
        "{}\n{}\n{}\n",
        track("o-1", "u-1"),
        track("o-1", "u-1"),
        json!({ "type": "exposure", "experiment": "checkout-layout", "variant": "one-page", "unit": "u-1", "time": 1_764_547_200_000_000_i64 })
    );
    let (status, _, body) = server.post_raw("/v1/events", lines, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["accepted"], &body["stored"], &body["duplicates"]),
        (&json!(3), &json!(2), &json!(1)),
        "{body}"
    );
    // Acknowledged means committed: another connection sees the events
    // (the store blocks, so it is opened off the async threads).
    let counted = tokio::task::spawn_blocking(move || {
        Store::open_existing(url.as_ref())
            .expect("the PostgreSQL store")
            .counts()
            .expect("counts")
    })
    .await
    .expect("counted");
    assert_eq!(counted, (1, 1));
}

//! Ingestion: idempotence, bad lines, counts; each on both stores (SQLite
//! and PostgreSQL), and the PostgreSQL store's refusals.

// The tests run once per store through helpers, which clippy does not
// see as tests.
#![allow(clippy::unwrap_used)]

mod support;

use support::{fresh, location, postgres_query, postgres_url, Backend, BACKENDS};
use vexil_events::{Event, Exposure, Store, Track};

const GOOD: &str = r#"{"type":"exposure","experiment":"x","variant":"a","unit":"u-1","time":100}
{"type":"track","event":"buy","unit":"u-1","value":12.5,"time":200}
{"type":"track","id":"evt-9","event":"buy","unit":"u-2","time":"2026-12-01T00:00:00Z","properties":{"b":1,"a":[true]}}
"#;

fn ingest(store: &mut Store, text: &str) -> vexil_events::IngestReport {
    store
        .ingest_reader(text.as_bytes(), "test.jsonl".as_ref())
        .expect("the store accepts the batch")
}

#[test]
fn ingesting_a_file_twice_adds_nothing() {
    for backend in BACKENDS {
        ingesting_a_file_twice_adds_nothing_on(backend);
    }
}

fn ingesting_a_file_twice_adds_nothing_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, GOOD).unwrap();
    let store_path = location(backend, dir.path());
    let first = Store::open(&store_path)
        .unwrap()
        .ingest_file(&path)
        .unwrap();
    assert_eq!((first.lines, first.exposures, first.tracks), (3, 1, 2));
    assert_eq!((first.duplicates, first.rejected), (0, 0));
    // Reopened, as a second `vexil ingest` would.
    let mut store = Store::open(&store_path).unwrap();
    let second = store.ingest_file(&path).unwrap();
    assert_eq!((second.lines, second.exposures, second.tracks), (3, 0, 0));
    assert_eq!(second.duplicates, 3);
    assert_eq!(store.counts().unwrap(), (1, 2));
}

#[test]
fn known_events_among_new_ones_are_duplicates() {
    for backend in BACKENDS {
        known_events_among_new_ones_are_duplicates_on(backend);
    }
}

/// PostgreSQL copies a batch straight into the tables until one event of
/// it is known: that copy is refused whole, and the batch goes through the
/// stage, which keeps the new events.
fn known_events_among_new_ones_are_duplicates_on(backend: Backend) {
    let mut store = fresh(backend);
    let first = ingest(&mut store, GOOD);
    assert_eq!((first.exposures, first.tracks, first.duplicates), (1, 2, 0));
    let more = r#"{"type":"track","event":"buy","unit":"u-3","value":1,"time":300}
{"type":"exposure","experiment":"x","variant":"b","unit":"u-3","time":250}
"#;
    let mixed = ingest(&mut store, &format!("{GOOD}{more}"));
    assert_eq!((mixed.exposures, mixed.tracks, mixed.duplicates), (1, 1, 3));
    // A new line twice in one batch: one is kept.
    let twice = r#"{"type":"track","event":"buy","unit":"u-4","value":1,"time":400}
"#;
    let again = ingest(&mut store, &format!("{twice}{twice}"));
    assert_eq!((again.exposures, again.tracks, again.duplicates), (0, 1, 1));
    // New events alone after those.
    let fresh = r#"{"type":"track","event":"buy","unit":"u-5","value":1,"time":500}
"#;
    let last = ingest(&mut store, fresh);
    assert_eq!((last.exposures, last.tracks, last.duplicates), (0, 1, 0));
    assert_eq!(store.counts().unwrap(), (2, 5));
}

#[test]
fn sink_lines_are_recognised_when_ingested_again() {
    for backend in BACKENDS {
        sink_lines_are_recognised_when_ingested_again_on(backend);
    }
}

fn sink_lines_are_recognised_when_ingested_again_on(backend: Backend) {
    // What `JsonLinesSink` writes, byte for byte.
    let sink = vexil_runtime::JsonLinesSink::new(Vec::new());
    vexil_runtime::ExposureSink::record(
        &sink,
        &vexil_runtime::Exposure {
            experiment: "x",
            variant: "a",
            unit: "u-1".into(),
            time: 100,
        },
    );
    let text = String::from_utf8(sink.into_inner().unwrap()).unwrap();
    let mut store = fresh(backend);
    assert_eq!(ingest(&mut store, &text).exposures, 1);
    // The same exposure from the in-process API is the same event.
    let again = store
        .ingest(&[Event::Exposure(Exposure::new("x", "a", "u-1", 100))])
        .unwrap();
    assert_eq!(again.duplicates, 1);
    // One microsecond later it is another exposure.
    let later = store
        .ingest(&[Exposure::new("x", "a", "u-1", 101).into()])
        .unwrap();
    assert_eq!(later.exposures, 1);
}

#[test]
fn a_bad_line_is_rejected_with_its_number_and_the_rest_kept() {
    for backend in BACKENDS {
        a_bad_line_is_rejected_on(backend);
    }
}

fn a_bad_line_is_rejected_on(backend: Backend) {
    let text = r#"{"type":"exposure","experiment":"x","variant":"a","unit":"u-1","time":100}
{"type":"track","event":"buy","unit":"u-1","time":200
this is not json

{"type":"track","event":"buy","unit":"u-1","time":300,"vaule":2}
{"type":"track","event":"buy","unit":"u-1","time":400}
"#;
    let mut store = fresh(backend);
    let report = ingest(&mut store, text);
    assert_eq!(report.lines, 5, "the blank line is not counted");
    assert_eq!(
        (report.exposures, report.tracks, report.rejected),
        (1, 1, 3)
    );
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 5]);
    assert!(
        report.errors[0].reason.contains("EOF"),
        "{:?}",
        report.errors[0]
    );
    assert_eq!(report.errors[1].reason, "expected ident (column 2)");
    assert!(
        report.errors[2].reason.contains("unknown field `vaule`"),
        "{:?}",
        report.errors[2]
    );
}

#[test]
fn non_utf8_lines_are_rejected_alone() {
    for backend in BACKENDS {
        non_utf8_lines_are_rejected_alone_on(backend);
    }
}

fn non_utf8_lines_are_rejected_alone_on(backend: Backend) {
    let mut bytes = b"{\"type\":\"track\",\"event\":\"buy\",\"unit\":\"u\",\"time\":1}\n".to_vec();
    bytes.extend_from_slice(b"\xff\xfe\n");
    bytes.extend_from_slice(b"{\"type\":\"track\",\"event\":\"buy\",\"unit\":\"u\",\"time\":2}");
    let mut store = fresh(backend);
    let report = store.ingest_reader(&bytes[..], "bytes".as_ref()).unwrap();
    assert_eq!((report.tracks, report.rejected), (2, 1));
    assert_eq!(report.errors[0].line, 2);
    assert_eq!(report.errors[0].reason, "not UTF-8 text");
}

#[test]
fn producer_ids_make_retries_duplicates_even_with_other_fields() {
    for backend in BACKENDS {
        producer_ids_make_retries_duplicates_on(backend);
    }
}

fn producer_ids_make_retries_duplicates_on(backend: Backend) {
    let mut store = fresh(backend);
    let first = Track {
        id: Some("o-1".into()),
        ..Track::new("buy", "u-1", 5.0, 100)
    };
    let retry = Track {
        time: 999,
        ..first.clone()
    };
    let report = store.ingest(&[first.into(), retry.into()]).unwrap();
    assert_eq!((report.tracks, report.duplicates), (1, 1));
    // Ids are per kind: an exposure may reuse a metric event's id.
    let exposure = Exposure {
        id: Some("o-1".into()),
        ..Exposure::new("x", "a", "u-1", 100)
    };
    assert_eq!(store.ingest(&[exposure.into()]).unwrap().exposures, 1);
    // The retry sent again later, alone, is still a duplicate; the first
    // of two new events sharing an id wins, whatever their key order.
    let later = Track {
        id: Some("o-1".into()),
        ..Track::new("buy", "u-0", 1.0, 5)
    };
    let second = Track {
        id: Some("o-2".into()),
        ..Track::new("buy", "u-9", 2.0, 50)
    };
    let second_retry = Track {
        id: Some("o-2".into()),
        ..Track::new("buy", "u-0", 3.0, 50)
    };
    let report = store
        .ingest(&[later.into(), second.into(), second_retry.into()])
        .unwrap();
    assert_eq!((report.tracks, report.duplicates), (1, 2));
    assert_eq!(store.counts().unwrap(), (1, 2));
}

#[test]
fn in_process_events_are_validated() {
    for backend in BACKENDS {
        in_process_events_are_validated_on(backend);
    }
}

fn in_process_events_are_validated_on(backend: Backend) {
    let mut store = fresh(backend);
    let report = store
        .ingest(&[
            Track::new("", "u", 1.0, 1).into(),
            Track::new("buy", "u", f64::NAN, 1).into(),
            Exposure::new("x", "a", "", 1).into(),
            Track::new("buy", "u", 1.0, 1).into(),
            Track::new("buy", "u\0v", 1.0, 1).into(),
        ])
        .unwrap();
    assert_eq!((report.tracks, report.rejected), (1, 4));
    let reasons: Vec<&str> = report.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "`event` is empty",
            "`value` must be a finite number, got `NaN`",
            "`unit` is empty",
            "`unit` contains the character U+0000 (NUL), which no store keeps"
        ]
    );
}

#[test]
fn a_store_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = Store::open(&path).err().expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");
    let missing = Store::open_existing(&dir.path().join("nope.db"))
        .err()
        .expect("refused");
    assert!(missing.to_string().contains("no event store"), "{missing}");
}

#[test]
fn only_the_first_hundred_errors_are_kept() {
    let text = "oops\n".repeat(250);
    let mut store = fresh(Backend::Sqlite);
    let report = ingest(&mut store, &text);
    assert_eq!(report.rejected, 250);
    assert_eq!(report.errors.len(), vexil_events::MAX_REPORTED_ERRORS);
}

#[test]
fn track_records_one_event() {
    for backend in BACKENDS {
        track_records_one_event_on(backend);
    }
}

fn track_records_one_event_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let location = location(backend, dir.path());
    let mut store = Store::open(&location).unwrap();
    let mut properties = serde_json::Map::new();
    properties.insert("currency".into(), "EUR".into());
    assert_eq!(
        store
            .track("buy", "u-1", 9.5, 10, Some(properties.clone()))
            .unwrap(),
        Ok(true)
    );
    assert_eq!(
        store
            .track("buy", "u-1", 9.5, 10, Some(properties))
            .unwrap(),
        Ok(false)
    );
    assert_eq!(
        store.track("buy", "", 1.0, 10, None).unwrap(),
        Err("`unit` is empty".to_string())
    );
    let sql = "SELECT properties FROM events";
    let stored: Vec<String> = match store.connection() {
        Some(conn) => vec![conn.query_row(sql, [], |r| r.get(0)).unwrap()],
        None => postgres_query(location.to_str().unwrap(), sql),
    };
    assert_eq!(stored, [r#"{"currency":"EUR"}"#]);
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn a_postgres_store_of_another_version_is_refused() {
    let url = postgres_url();
    drop(Store::open(url.as_ref()).unwrap());
    postgres_query(
        &url,
        "INSERT INTO vexil_event_migrations (version, applied_at) VALUES (99, 0)",
    );
    let err = Store::open(url.as_ref()).err().expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

#[test]
fn analysing_a_postgres_database_without_a_store_is_refused_and_creates_nothing() {
    let url = postgres_url();
    let err = Store::open_existing(url.as_ref()).err().expect("refused");
    assert!(err.to_string().contains("no event store"), "{err}");
    let tables = postgres_query(
        &url,
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'",
    );
    assert_eq!(tables, ["0"]);
}

#[test]
fn bad_urls_and_refused_connections_are_clear_errors_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    // A port that nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!("postgres://vexil:s3cret@127.0.0.1:{port}/events"),
            "connecting",
        ),
        (
            "postgres://vexil:s3cret@127.0.0.1:notaport/events".to_string(),
            "invalid",
        ),
        (
            "mysql://vexil:s3cret@127.0.0.1/events".to_string(),
            "`mysql://` is not a store this vexil reads",
        ),
    ];
    for (url, says) in cases {
        for opened in [
            Store::open(url.as_ref()),
            Store::open_existing(url.as_ref()),
        ] {
            let err = opened.err().expect("refused").to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("s3cret"), "the password is shown: {err}");
            assert!(err.contains("vexil:***@127.0.0.1"), "{err}");
        }
    }
    // Nothing was created on disk for any of them.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(!std::path::Path::new("postgres:").exists());
    assert!(!std::path::Path::new("mysql:").exists());
}

#[test]
fn a_failed_postgres_batch_keeps_nothing_of_it() {
    let url = postgres_url();
    let mut store = Store::open(url.as_ref()).unwrap();
    // A constraint of the team's own makes the third event fail in the
    // database, after the first two were copied.
    postgres_query(
        &url,
        "ALTER TABLE events ADD CONSTRAINT no_poison CHECK (event <> 'poison')",
    );
    let good: Vec<Event> = vec![
        Exposure::new("x", "a", "u-1", 1).into(),
        Track::new("buy", "u-1", 1.0, 2).into(),
    ];
    let poisoned: Vec<Event> = vec![Track::new("poison", "u-1", 1.0, 3).into()];
    let err = store
        .ingest_all(&[&good, &poisoned])
        .expect_err("the database refuses the batch");
    assert!(err.to_string().contains("no_poison"), "{err}");
    assert_eq!(store.counts().unwrap(), (0, 0));
    // The store is usable afterwards, and the good events go in alone.
    let report = store.ingest(&good).unwrap();
    assert_eq!((report.exposures, report.tracks), (1, 1));
}

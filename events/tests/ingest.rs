//! Ingestion: idempotence, bad lines, counts.

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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, GOOD).unwrap();
    let store_path = dir.path().join("store.db");
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
fn sink_lines_are_recognised_when_ingested_again() {
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
    let mut store = Store::in_memory().unwrap();
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
    let text = r#"{"type":"exposure","experiment":"x","variant":"a","unit":"u-1","time":100}
{"type":"track","event":"buy","unit":"u-1","time":200
this is not json

{"type":"track","event":"buy","unit":"u-1","time":300,"vaule":2}
{"type":"track","event":"buy","unit":"u-1","time":400}
"#;
    let mut store = Store::in_memory().unwrap();
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
    let mut bytes = b"{\"type\":\"track\",\"event\":\"buy\",\"unit\":\"u\",\"time\":1}\n".to_vec();
    bytes.extend_from_slice(b"\xff\xfe\n");
    bytes.extend_from_slice(b"{\"type\":\"track\",\"event\":\"buy\",\"unit\":\"u\",\"time\":2}");
    let mut store = Store::in_memory().unwrap();
    let report = store.ingest_reader(&bytes[..], "bytes".as_ref()).unwrap();
    assert_eq!((report.tracks, report.rejected), (2, 1));
    assert_eq!(report.errors[0].line, 2);
    assert_eq!(report.errors[0].reason, "not UTF-8 text");
}

#[test]
fn producer_ids_make_retries_duplicates_even_with_other_fields() {
    let mut store = Store::in_memory().unwrap();
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
}

#[test]
fn in_process_events_are_validated() {
    let mut store = Store::in_memory().unwrap();
    let report = store
        .ingest(&[
            Track::new("", "u", 1.0, 1).into(),
            Track::new("buy", "u", f64::NAN, 1).into(),
            Exposure::new("x", "a", "", 1).into(),
            Track::new("buy", "u", 1.0, 1).into(),
        ])
        .unwrap();
    assert_eq!((report.tracks, report.rejected), (1, 3));
    let reasons: Vec<&str> = report.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec![
            "`event` is empty",
            "`value` must be a finite number, got `NaN`",
            "`unit` is empty"
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
    let mut store = Store::in_memory().unwrap();
    let report = ingest(&mut store, &text);
    assert_eq!(report.rejected, 250);
    assert_eq!(report.errors.len(), vexil_events::MAX_REPORTED_ERRORS);
}

#[test]
fn track_records_one_event() {
    let mut store = Store::in_memory().unwrap();
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
    let stored: String = store
        .connection()
        .query_row("SELECT properties FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, r#"{"currency":"EUR"}"#);
}

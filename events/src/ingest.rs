//! Loading events into the store, from JSON Lines files or given in
//! process, and the report of what was kept. Each line is parsed alone: a
//! bad line is reported with its number and reason and the lines around it
//! are kept. Lines are committed in batches, so a crash mid-file loses at
//! most one batch, and ingesting the file again completes it (ids make the
//! second pass add only what is missing).

use std::io::BufRead;
use std::path::Path;

use serde::Serialize;

use std::sync::mpsc::SyncSender;

use crate::event::{Event, Track};
use crate::line::{canonical_properties, parse_line, ParsedLine};
use crate::store::{Inserted, Store, StoreError};

/// Lines parsed and sorted together: bounds the memory of an ingestion.
const BATCH_LINES: usize = 50_000;

/// Batches per transaction. A commit writes every page the transaction
/// dirtied, and random units dirty most of the tables' pages, so fewer,
/// larger commits write far less (a million lines: 3.6 s in 50,000-line
/// transactions, see BENCHMARKS.md for the figure with this setting). A
/// crash loses at most one transaction, which ingesting the file again
/// restores.
const BATCHES_PER_COMMIT: usize = 20;

/// At most this many rejected lines are kept with their reasons; the rest
/// are only counted, so a file of garbage cannot exhaust memory.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// A rejected line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number in the file (or position in the slice given to
    /// [`Store::ingest`]).
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// What an ingestion did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Non-blank lines read (or events given).
    pub lines: u64,
    /// New exposures stored.
    pub exposures: u64,
    /// New metric events stored.
    pub tracks: u64,
    /// Events whose id was already in the store (or earlier in the input).
    pub duplicates: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`] rejections.
    pub errors: Vec<LineError>,
}

impl IngestReport {
    fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(LineError { line, reason });
        }
    }

    fn count(&mut self, inserted: Inserted) {
        self.exposures += inserted.exposures;
        self.tracks += inserted.tracks;
        self.duplicates += inserted.duplicates;
    }

    /// Adds another report's counts (for several files).
    pub fn add(&mut self, other: &IngestReport) {
        self.lines += other.lines;
        self.exposures += other.exposures;
        self.tracks += other.tracks;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
    }
}

/// Parsed lines of one batch, owning their text so they can cross threads.
struct ParsedBatch {
    /// Non-blank lines in the batch.
    lines: u64,
    parsed: Vec<ParsedLine<'static>>,
    rejected: Vec<(u64, String)>,
}

/// Reads and parses batches until the input ends, an error occurs or the
/// receiver hangs up (the store failed).
fn read_batches(mut reader: impl BufRead, sender: SyncSender<Result<ParsedBatch, std::io::Error>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut line_no: u64 = 0;
    loop {
        let mut batch = ParsedBatch {
            lines: 0,
            parsed: Vec::with_capacity(BATCH_LINES),
            rejected: Vec::new(),
        };
        let mut done = false;
        while batch.parsed.len() + batch.rejected.len() < BATCH_LINES {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = sender.send(Err(e));
                    return;
                }
            }
            line_no += 1;
            let Ok(text) = std::str::from_utf8(&buf) else {
                batch.lines += 1;
                batch.rejected.push((line_no, "not UTF-8 text".to_string()));
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            batch.lines += 1;
            match parse_line(text) {
                Ok(p) => batch.parsed.push(p.into_owned()),
                Err(reason) => batch.rejected.push((line_no, reason)),
            }
        }
        if sender.send(Ok(batch)).is_err() || done {
            return;
        }
    }
}

impl Store {
    /// Records events given in process, in one transaction. Invalid events
    /// are rejected (their index in `events` is the report's line number,
    /// counted from 1) and the others kept, as for a file.
    pub fn ingest(&mut self, events: &[Event]) -> Result<IngestReport, StoreError> {
        let mut reports = self.ingest_all(&[events])?;
        Ok(reports.pop().unwrap_or_default())
    }

    /// Records several groups of events in one transaction, with a report
    /// per group as [`Store::ingest`] gives: a server commits the requests
    /// that arrived together at once (group commit), and answers each with
    /// its own report. Either every group is stored or, on error, none.
    pub fn ingest_all(&mut self, groups: &[&[Event]]) -> Result<Vec<IngestReport>, StoreError> {
        let mut batch = self.batch()?;
        let mut reports = Vec::with_capacity(groups.len());
        for events in groups {
            let mut report = IngestReport::default();
            let mut properties_text: Vec<Option<String>> = Vec::with_capacity(events.len());
            let mut valid: Vec<&Event> = Vec::with_capacity(events.len());
            for (i, event) in events.iter().enumerate() {
                report.lines += 1;
                let line = i as u64 + 1;
                if let Err(reason) = event.validate() {
                    report.reject(line, reason);
                    continue;
                }
                let properties = match event {
                    Event::Track(Track {
                        properties: Some(map),
                        ..
                    }) => {
                        let text = serde_json::Value::Object(map.clone()).to_string();
                        match canonical_properties(&text) {
                            Ok(p) => Some(p),
                            Err(reason) => {
                                report.reject(line, reason);
                                continue;
                            }
                        }
                    }
                    _ => None,
                };
                properties_text.push(properties);
                valid.push(event);
            }
            let rows = valid
                .iter()
                .zip(&properties_text)
                .map(|(event, properties)| event.row(properties.as_deref()))
                .collect();
            report.count(batch.insert_all(rows)?);
            reports.push(report);
        }
        batch.commit()?;
        Ok(reports)
    }

    /// Records one metric event: `track(event, unit, value, time,
    /// properties)` as the issue names it. One transaction per call; batch
    /// events through [`Store::ingest`] when there are many. The outer
    /// error is the store failing; inside, `Ok(true)` means stored,
    /// `Ok(false)` already stored, `Err(reason)` rejected (an empty name, a
    /// value that is not finite).
    pub fn track(
        &mut self,
        event: &str,
        unit: &str,
        value: f64,
        time: i64,
        properties: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Result<bool, String>, StoreError> {
        let track = Track {
            properties,
            ..Track::new(event, unit, value, time)
        };
        let report = self.ingest(&[track.into()])?;
        Ok(match report.errors.into_iter().next() {
            Some(e) => Err(e.reason),
            None => Ok(report.tracks == 1),
        })
    }

    /// Ingests JSON Lines from `reader`; `source` names it in errors.
    pub fn ingest_reader(
        &mut self,
        reader: impl BufRead + Send,
        source: &Path,
    ) -> Result<IngestReport, StoreError> {
        self.defer_checkpoints()?;
        let result = self.ingest_lines(reader, source);
        let ended = self.end_bulk_load();
        let report = result?;
        ended?;
        Ok(report)
    }

    fn ingest_lines(
        &mut self,
        reader: impl BufRead + Send,
        source: &Path,
    ) -> Result<IngestReport, StoreError> {
        // Parsing runs on its own thread, a batch ahead of the inserts: the
        // two take comparable time, and SQLite needs the one connection.
        std::thread::scope(|scope| {
            let (sender, batches) = std::sync::mpsc::sync_channel(2);
            scope.spawn(move || read_batches(reader, sender));
            let mut report = IngestReport::default();
            let mut tx = self.batch()?;
            let mut in_tx = 0;
            for batch in batches {
                let batch = batch.map_err(|e| StoreError::Io {
                    path: source.to_path_buf(),
                    source: e,
                })?;
                report.lines += batch.lines;
                for (line, reason) in batch.rejected {
                    report.reject(line, reason);
                }
                let rows = batch.parsed.iter().map(|p| p.row()).collect();
                report.count(tx.insert_all(rows)?);
                in_tx += 1;
                if in_tx == BATCHES_PER_COMMIT {
                    tx.commit()?;
                    tx = self.batch()?;
                    in_tx = 0;
                }
            }
            tx.commit()?;
            Ok(report)
        })
    }

    /// Ingests one JSON Lines file.
    pub fn ingest_file(&mut self, path: &Path) -> Result<IngestReport, StoreError> {
        let file = std::fs::File::open(path).map_err(|e| StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        self.ingest_reader(std::io::BufReader::with_capacity(1 << 20, file), path)
    }
}

//! Exposure events: a unit was assigned a variant of an experiment.
//!
//! The embedding service supplies the sink; the runtime calls it on the
//! evaluating thread, once per enrolled evaluation, with borrowed data, so a
//! sink decides itself what to copy, batch or drop.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure<'a> {
    pub experiment: &'a str,
    pub variant: &'a str,
    /// The bucketing unit's value (ints as decimal text).
    pub unit: Cow<'a, str>,
    /// Microseconds since the epoch.
    pub time: i64,
}

impl Exposure<'_> {
    pub fn to_owned(&self) -> OwnedExposure {
        OwnedExposure {
            experiment: self.experiment.to_string(),
            variant: self.variant.to_string(),
            unit: self.unit.to_string(),
            time: self.time,
        }
    }
}

/// An exposure that owns its data; its JSON form is one line of an
/// exposure log (`"time"` in microseconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedExposure {
    pub experiment: String,
    pub variant: String,
    pub unit: String,
    pub time: i64,
}

pub trait ExposureSink: Send + Sync {
    fn record(&self, exposure: &Exposure<'_>);
}

/// Keeps every exposure in memory: for tests and small tools.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<OwnedExposure>>,
}

impl MemorySink {
    pub fn take(&self) -> Vec<OwnedExposure> {
        self.events
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

impl ExposureSink for MemorySink {
    fn record(&self, exposure: &Exposure<'_>) {
        if let Ok(mut events) = self.events.lock() {
            events.push(exposure.to_owned());
        }
    }
}

/// Appends exposures as JSON Lines to a writer (a file, a pipe): the format
/// `vexil` analytics ingests.
pub struct JsonLinesSink<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> JsonLinesSink<W> {
    pub fn new(out: W) -> Self {
        JsonLinesSink {
            out: Mutex::new(out),
        }
    }

    pub fn into_inner(self) -> Option<W> {
        self.out.into_inner().ok()
    }
}

impl<W: Write + Send> ExposureSink for JsonLinesSink<W> {
    fn record(&self, exposure: &Exposure<'_>) {
        let line = serde_json::json!({
            "type": "exposure",
            "experiment": exposure.experiment,
            "variant": exposure.variant,
            "unit": exposure.unit,
            "time": exposure.time,
        });
        if let Ok(mut out) = self.out.lock() {
            // A failed write must not fail the evaluation that caused it.
            let _ = writeln!(out, "{line}");
        }
    }
}

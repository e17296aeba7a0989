//! Exposure events: a unit was assigned a variant of an experiment.
//!
//! The embedding service supplies the sink; the runtime calls it on the
//! evaluating thread, once per enrolled evaluation, with borrowed data, so a
//! sink decides itself what to copy, batch or drop.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashSet;

use serde::{Deserialize, Serialize};

/// A unit was assigned a variant, borrowed from the snapshot and context
/// that evaluated it (see [`OwnedExposure`] to keep one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure<'a> {
    /// The experiment's name.
    pub experiment: &'a str,
    /// The variant the unit was assigned.
    pub variant: &'a str,
    /// The bucketing unit's value (ints as decimal text).
    pub unit: Cow<'a, str>,
    /// Microseconds since the epoch.
    pub time: i64,
}

impl Exposure<'_> {
    /// A copy that owns its data.
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
    /// The experiment's name.
    pub experiment: String,
    /// The variant the unit was assigned.
    pub variant: String,
    /// The bucketing unit's value (ints as decimal text).
    pub unit: String,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// Where a service's exposures go; called on the evaluating thread, so a
/// sink that does I/O should be quick or hand the event off.
pub trait ExposureSink: Send + Sync {
    /// Record one exposure. It cannot fail the evaluation that caused it:
    /// a sink that cannot record drops the event.
    fn record(&self, exposure: &Exposure<'_>);
}

/// Keeps every exposure in memory: for tests and small tools.
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<OwnedExposure>>,
}

impl MemorySink {
    /// The exposures recorded since the last call, oldest first.
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
    /// A sink writing one line per exposure to `out`.
    pub fn new(out: W) -> Self {
        JsonLinesSink {
            out: Mutex::new(out),
        }
    }

    /// The writer back; `None` if a write panicked while holding it.
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

/// Passes an exposure on only the first time its unit is seen in that
/// variant of that experiment, remembering the last `capacity` distinct
/// (experiment, variant, unit) triples and forgetting the oldest first, as
/// GrowthBook's SDKs track each assignment once and LaunchDarkly's keep a
/// cache of recently seen contexts.
///
/// A service that evaluates an experiment on every request otherwise sends
/// an exposure per request. Analysis counts each unit from its first
/// exposure, so what this drops changes no result; a triple forgotten and
/// seen again costs one more line, never a lost unit. A unit that moves to
/// another variant (the experiment's weights changed) is passed on again.
pub struct DedupSink<S> {
    inner: S,
    seen: Mutex<Seen>,
}

struct Seen {
    keys: FxHashSet<Arc<[u8]>>,
    order: VecDeque<Arc<[u8]>>,
    capacity: usize,
    /// The key being looked up, built without allocating.
    scratch: Vec<u8>,
}

impl<S: ExposureSink> DedupSink<S> {
    /// Remembers up to `capacity` triples (each costs its text and about
    /// 50 bytes); with 0 it remembers none and passes everything on.
    pub fn new(inner: S, capacity: usize) -> Self {
        DedupSink {
            inner,
            seen: Mutex::new(Seen {
                keys: FxHashSet::default(),
                order: VecDeque::new(),
                capacity,
                scratch: Vec::new(),
            }),
        }
    }

    /// The sink exposures are passed on to.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Whether this triple is new (and now remembered).
    fn first_sight(&self, exposure: &Exposure<'_>) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            // A thread panicked while holding the lock: pass everything on
            // rather than lose exposures.
            return true;
        };
        let seen = &mut *seen;
        if seen.capacity == 0 {
            return true;
        }
        // Each name after its length (fixed-width bytes, not formatted:
        // this runs on every evaluation), so that no two triples share a
        // key.
        let scratch = &mut seen.scratch;
        scratch.clear();
        for name in [exposure.experiment, exposure.variant] {
            scratch.extend_from_slice(&(name.len() as u64).to_le_bytes());
            scratch.extend_from_slice(name.as_bytes());
        }
        scratch.extend_from_slice(exposure.unit.as_bytes());
        if seen.keys.contains(seen.scratch.as_slice()) {
            return false;
        }
        if seen.order.len() >= seen.capacity {
            if let Some(oldest) = seen.order.pop_front() {
                seen.keys.remove(&oldest);
            }
        }
        let key: Arc<[u8]> = Arc::from(seen.scratch.as_slice());
        seen.keys.insert(key.clone());
        seen.order.push_back(key);
        true
    }
}

impl<S: ExposureSink> ExposureSink for DedupSink<S> {
    fn record(&self, exposure: &Exposure<'_>) {
        if self.first_sight(exposure) {
            self.inner.record(exposure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure<'a>(experiment: &'a str, variant: &'a str, unit: &'a str) -> Exposure<'a> {
        Exposure {
            experiment,
            variant,
            unit: Cow::Borrowed(unit),
            time: 1,
        }
    }

    fn passed(sink: &DedupSink<MemorySink>) -> Vec<(String, String, String)> {
        sink.inner()
            .take()
            .into_iter()
            .map(|e| (e.experiment, e.variant, e.unit))
            .collect()
    }

    #[test]
    fn each_triple_passes_once() {
        let sink = DedupSink::new(MemorySink::default(), 100);
        for _ in 0..3 {
            sink.record(&exposure("x", "a", "u-1"));
        }
        sink.record(&exposure("x", "b", "u-1")); // another variant
        sink.record(&exposure("x", "a", "u-2")); // another unit
        sink.record(&exposure("y", "a", "u-1")); // another experiment
                                                 // Keys cannot collide by concatenation.
        sink.record(&exposure("ab", "c", "d"));
        sink.record(&exposure("a", "bc", "d"));
        sink.record(&exposure("a", "b", "cd"));
        assert_eq!(passed(&sink).len(), 7);
    }

    #[test]
    fn the_oldest_is_forgotten_first() {
        let sink = DedupSink::new(MemorySink::default(), 2);
        for unit in ["u-1", "u-2", "u-3", "u-3", "u-2", "u-1"] {
            sink.record(&exposure("x", "a", unit));
        }
        // u-1 was forgotten when u-3 came; u-2 and u-3 were still known.
        let units: Vec<String> = passed(&sink).into_iter().map(|t| t.2).collect();
        assert_eq!(units, ["u-1", "u-2", "u-3", "u-1"]);
    }

    #[test]
    fn capacity_zero_passes_everything() {
        let sink = DedupSink::new(MemorySink::default(), 0);
        sink.record(&exposure("x", "a", "u-1"));
        sink.record(&exposure("x", "a", "u-1"));
        assert_eq!(passed(&sink).len(), 2);
    }

    #[test]
    fn sinks_are_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<DedupSink<MemorySink>>();
        send_sync::<JsonLinesSink<Vec<u8>>>();
    }
}

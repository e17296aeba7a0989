//! The event writer: one thread owns the event store (the store `vexil
//! analyze` reads: an SQLite file, or PostgreSQL given as a URL) and appends what `POST /v1/events` and the
//! server's own exposures hand it over one bounded channel. Jobs that
//! arrive together are committed in one transaction (group commit), and a
//! request is answered only once its transaction is committed durably
//! (SQLite: `synchronous = FULL`, the write-ahead log is fsynced;
//! PostgreSQL: its default synchronous commit), so an acknowledged event
//! survives the process being killed and, on a disk that honours fsync,
//! the machine losing power.
//!
//! Exposures come from the evaluating threads, which must never wait: they
//! are deduplicated (once per experiment, variant and unit, the runtime's
//! `DedupSink`) and offered to the channel; when it is full they are
//! dropped and counted, never blocking an evaluation.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, oneshot};
use vexil_events::{Event, Exposure, IngestReport, Store};
use vexil_runtime::{DedupSink, ExposureSink};

/// Jobs committed in one transaction at most.
const GROUP: usize = 512;

enum Job {
    /// A request's events; the reply is sent once they are committed.
    Events {
        events: Vec<Event>,
        reply: oneshot::Sender<Result<IngestReport, String>>,
    },
    Exposure(Exposure),
    /// Commit what is queued, then stop.
    Stop,
}

/// What the writer counts, registered in the server's metrics.
#[derive(Clone, Default)]
pub struct Counters {
    pub exposures_recorded: Counter,
    pub exposures_dropped: Counter,
}

/// The handle requests append through.
pub struct Recorder {
    jobs: mpsc::Sender<Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    pub counters: Counters,
}

impl Recorder {
    /// Open (or create) the store at `path` and start its writer; `queue`
    /// bounds the jobs waiting for it.
    pub fn open(path: &Path, queue: usize) -> Result<Recorder, String> {
        let parent = path.parent().filter(|_| !Store::is_url(path));
        if let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "event store `{}`: cannot create its directory: {e}",
                    path.display()
                )
            })?;
        }
        let store = Store::open(path).map_err(|e| e.to_string())?;
        // A commit is durable before it returns, so an acknowledgement
        // means the event is on disk.
        store.durable_commits().map_err(|e| e.to_string())?;
        let (jobs, receiver) = mpsc::channel(queue.max(1));
        let counters = Counters::default();
        let recorded = counters.exposures_recorded.clone();
        let thread = std::thread::Builder::new()
            .name("vexil-events".into())
            .spawn(move || write(store, receiver, recorded))
            .map_err(|e| format!("cannot start the event writer: {e}"))?;
        Ok(Recorder {
            jobs,
            thread: Mutex::new(Some(thread)),
            counters,
        })
    }

    /// Append a request's events; returns once they are committed. The
    /// error says why the store could not take them.
    pub async fn append(&self, events: Vec<Event>) -> Result<IngestReport, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Events { events, reply })
            .await
            .map_err(|_| "the event writer has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the event writer has stopped".to_string())?
    }

    /// The sink for the engine: deduplicated, never blocking.
    pub fn exposure_sink(&self, remember: usize) -> Arc<dyn ExposureSink> {
        Arc::new(DedupSink::new(
            Offer {
                jobs: self.jobs.clone(),
                dropped: self.counters.exposures_dropped.clone(),
            },
            remember,
        ))
    }

    /// Commit what is queued and stop the writer (blocking).
    pub fn close(&self) {
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            // Full queue: wait for room; closed: the writer is gone anyway.
            let _ = self.jobs.blocking_send(Job::Stop);
            let _ = thread.join();
        }
    }
}

/// Offers exposures to the writer without waiting.
struct Offer {
    jobs: mpsc::Sender<Job>,
    dropped: Counter,
}

impl ExposureSink for Offer {
    fn record(&self, exposure: &vexil_runtime::Exposure<'_>) {
        let job = Job::Exposure(exposure.to_owned().into());
        if self.jobs.try_send(job).is_err() {
            self.dropped.inc();
        }
    }
}

/// The writer thread: take what has arrived, commit it as one transaction,
/// answer every request in it.
fn write(mut store: Store, mut jobs: mpsc::Receiver<Job>, recorded: Counter) {
    let mut stopping = false;
    while !stopping {
        let Some(first) = jobs.blocking_recv() else {
            return;
        };
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut requests = Vec::new();
        let mut exposures = Vec::new();
        for job in group {
            match job {
                Job::Events { events, reply } => requests.push((events, reply)),
                Job::Exposure(e) => exposures.push(Event::Exposure(e)),
                Job::Stop => stopping = true,
            }
        }
        if requests.is_empty() && exposures.is_empty() {
            continue;
        }
        let mut groups: Vec<&[Event]> = requests.iter().map(|(e, _)| e.as_slice()).collect();
        groups.push(&exposures);
        let result = store.ingest_all(&groups);
        drop(groups);
        match result {
            Ok(mut reports) => {
                if let Some(own) = reports.pop() {
                    recorded.inc_by(own.exposures + own.duplicates);
                }
                for ((_, reply), report) in requests.into_iter().zip(reports) {
                    let _ = reply.send(Ok(report));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, exposures = exposures.len(), "the event store refused a commit");
                for (_, reply) in requests {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

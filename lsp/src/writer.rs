//! The one writer: a thread that owns the `Host` and takes changes and
//! queries from a channel, in the order the editor sent them.
//!
//! A query gets a snapshot of the state after every change sent before it
//! and runs on the blocking pool. A change bumps salsa's revision, which
//! cancels the queries still running on older snapshots: they unwind with
//! `salsa::Cancelled` and answer "content modified" instead of stale data.
//! After each batch of changes, diagnostics are recomputed the same way.
//!
//! A query whose caller goes away (the editor's `$/cancelRequest`, which
//! drops the request's future) is stopped too: if it has not started it
//! never runs, and if it runs its snapshot's own cancellation token is
//! set, so it unwinds at its next salsa query like an edit would make it,
//! without touching any other query.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};

use salsa::Database as _;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::host::{Change, Host, Snapshot};

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// A change arrived while it ran: the answer would have been stale.
    Cancelled,
    /// A bug: the query panicked. The server keeps running.
    Panicked(String),
    /// The writer has stopped.
    Stopped,
}

type Job = Box<dyn FnOnce(Snapshot) + Send>;

enum Message {
    Change(Change),
    Query(Job),
}

/// A handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer. After every batch of changes, `after_change` runs
    /// on the blocking pool with a snapshot (to publish diagnostics).
    pub fn spawn(
        mut host: Host,
        runtime: Handle,
        after_change: impl Fn(&Snapshot) + Send + Sync + 'static,
    ) -> Writer {
        let (tx, rx) = mpsc::channel::<Message>();
        let after_change = std::sync::Arc::new(after_change);
        let spawned = std::thread::Builder::new()
            .name("vexil-writer".into())
            .spawn(move || {
                // Ends when every `Writer` is dropped.
                while let Ok(first) = rx.recv() {
                    // Consecutive changes apply as one batch (one new
                    // revision); a query sees every change sent before it.
                    let mut pending = Vec::new();
                    let mut changed = false;
                    for message in std::iter::once(first).chain(rx.try_iter()) {
                        match message {
                            Message::Change(change) => pending.push(change),
                            Message::Query(job) => {
                                if !pending.is_empty() {
                                    host.apply(pending.drain(..));
                                    changed = true;
                                }
                                let snapshot = host.snapshot();
                                runtime.spawn_blocking(move || job(snapshot));
                            }
                        }
                    }
                    if !pending.is_empty() {
                        host.apply(pending);
                        changed = true;
                    }
                    if changed {
                        let snapshot = host.snapshot();
                        let after_change = after_change.clone();
                        runtime.spawn_blocking(move || {
                            let _ = run(snapshot, |s| after_change(s));
                        });
                    }
                }
            });
        if let Err(e) = spawned {
            // Without a writer every query answers `Stopped`; say why once.
            eprintln!("vexil lsp: cannot start the writer thread: {e}");
        }
        Writer { tx }
    }

    /// Queues a change; it applies after everything sent before it.
    pub fn change(&self, change: Change) {
        let _ = self.tx.send(Message::Change(change));
    }

    /// Runs `f` on a snapshot that includes every change sent before.
    /// Dropping the future before it is answered stops `f` (see the
    /// module's comment).
    pub async fn query<T, F>(&self, f: F) -> Result<T, JobError>
    where
        T: Send + 'static,
        F: FnOnce(&Snapshot) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let caller = Caller::default();
        let job_caller = caller.clone();
        let job: Job = Box::new(move |snapshot| {
            if job_caller.runs(&snapshot) {
                let _ = reply.send(run(snapshot, f));
            }
        });
        if self.tx.send(Message::Query(job)).is_err() {
            return Err(JobError::Stopped);
        }
        let mut waiting = GoneOnDrop(Some(caller));
        let answer = answer.await.unwrap_or(Err(JobError::Stopped));
        waiting.0 = None;
        answer
    }
}

/// Whether a query's caller is still waiting, shared by the caller and the
/// job.
#[derive(Clone, Default)]
struct Caller(Arc<Mutex<CallerState>>);

#[derive(Default)]
enum CallerState {
    #[default]
    Waiting,
    /// The job runs on a snapshot with this token.
    Running(salsa::CancellationToken),
    /// The caller went away.
    Gone,
}

impl Caller {
    /// At the job's start: false if the caller has gone (the job is not
    /// run); else the snapshot's token is kept for `gone`.
    fn runs(&self, snapshot: &Snapshot) -> bool {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*state, CallerState::Gone) {
            return false;
        }
        *state = CallerState::Running(snapshot.db.cancellation_token());
        true
    }

    /// The caller went away: a running job unwinds at its next salsa
    /// query; one not started yet never runs.
    fn gone(&self) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let CallerState::Running(token) = &*state {
            token.cancel();
        }
        *state = CallerState::Gone;
    }
}

/// Marks the caller gone when the query's future is dropped unanswered.
struct GoneOnDrop(Option<Caller>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        if let Some(caller) = self.0.take() {
            caller.gone();
        }
    }
}

/// Runs `f` on `snapshot`, dropping the snapshot before returning so that a
/// waiting change can proceed.
pub fn run<T>(snapshot: Snapshot, f: impl FnOnce(&Snapshot) -> T) -> Result<T, JobError> {
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(&snapshot)));
    drop(snapshot);
    result.map_err(|payload| {
        if payload.is::<salsa::Cancelled>() {
            JobError::Cancelled
        } else if let Some(s) = payload.downcast_ref::<&str>() {
            JobError::Panicked((*s).to_string())
        } else if let Some(s) = payload.downcast_ref::<String>() {
            JobError::Panicked(s.clone())
        } else {
            JobError::Panicked("unknown panic".into())
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use salsa::Database as _;
    use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

    use super::*;

    fn uri() -> Uri {
        "untitled:edit.flag".parse().unwrap()
    }

    fn text_of(s: &Snapshot) -> String {
        s.file(&uri())
            .map(|f| f.text(&s.db).clone())
            .unwrap_or_default()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn queries_see_every_change_sent_before_them() {
        runtime().block_on(async {
            let writer = Writer::spawn(Host::new(), Handle::current(), |_| {});
            writer.change(Change::Open {
                uri: uri(),
                text: String::new(),
            });
            for i in 0..200 {
                writer.change(Change::Edit {
                    uri: uri(),
                    changes: vec![TextDocumentContentChangeEvent {
                        range: Some(Range::new(Position::new(0, 0), Position::new(0, 0))),
                        range_length: None,
                        text: "x".into(),
                    }],
                });
                let text = writer.query(text_of).await.unwrap();
                assert_eq!(text.len(), i + 1);
            }
        });
    }

    /// A writer with a file open, and a query on it that runs for up to a
    /// minute, reaching salsa now and then as every query does: its task,
    /// a signal when it starts, and the moment it ends, however it ends
    /// (unwinding included).
    #[allow(clippy::type_complexity)]
    fn slow_query() -> (
        Writer,
        tokio::task::JoinHandle<Result<&'static str, JobError>>,
        oneshot::Receiver<()>,
        std::sync::mpsc::Receiver<Instant>,
    ) {
        let writer = Writer::spawn(Host::new(), Handle::current(), |_| {});
        writer.change(Change::Open {
            uri: uri(),
            text: "segment s {\n  true\n}\n".into(),
        });
        let (started, running) = oneshot::channel();
        let (ended, end) = std::sync::mpsc::channel();
        let slow = writer.clone();
        let query = tokio::spawn(async move {
            slow.query(move |s| {
                struct Ends(std::sync::mpsc::Sender<Instant>);
                impl Drop for Ends {
                    fn drop(&mut self) {
                        let _ = self.0.send(Instant::now());
                    }
                }
                let _ends = Ends(ended);
                let _ = started.send(());
                let deadline = Instant::now() + Duration::from_secs(60);
                while Instant::now() < deadline {
                    s.db.unwind_if_revision_cancelled();
                    std::thread::yield_now();
                }
                "ran to the end"
            })
            .await
        });
        (writer, query, running, end)
    }

    #[test]
    fn a_change_cancels_a_running_query() {
        runtime().block_on(async {
            let (writer, query, running, _) = slow_query();
            running.await.unwrap();
            writer.change(Change::Edit {
                uri: uri(),
                changes: vec![TextDocumentContentChangeEvent {
                    range: None,
                    range_length: None,
                    text: "segment s {\n  false\n}\n".into(),
                }],
            });
            assert_eq!(query.await.unwrap(), Err(JobError::Cancelled));
            let text = writer.query(text_of).await.unwrap();
            assert!(text.contains("false"));
        });
    }

    #[test]
    fn a_query_whose_caller_goes_away_stops_and_others_go_on() {
        runtime().block_on(async {
            let (writer, query, running, stopped) = slow_query();
            running.await.unwrap();
            // As tower-lsp-server does on `$/cancelRequest`: the request's
            // future is dropped.
            let cancelled = Instant::now();
            query.abort();
            let end =
                tokio::task::spawn_blocking(move || stopped.recv_timeout(Duration::from_secs(30)))
                    .await
                    .unwrap()
                    .expect("the query stopped");
            assert!(end >= cancelled);
            // No change was made: the next query runs, on the same text.
            let text = writer.query(text_of).await.unwrap();
            assert!(text.contains("true"));
        });
    }

    #[test]
    fn a_query_whose_caller_went_away_before_it_started_never_runs() {
        // One blocking thread: a query waits for the one before it.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let writer = Writer::spawn(Host::new(), Handle::current(), |_| {});
            let (gate_tx, gate) = std::sync::mpsc::channel::<()>();
            let (started, running) = oneshot::channel();
            let first = writer.clone();
            let blocker = tokio::spawn(async move {
                first
                    .query(move |_| {
                        let _ = started.send(());
                        let _ = gate.recv_timeout(Duration::from_secs(30));
                    })
                    .await
            });
            running.await.unwrap();
            let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let second = writer.clone();
            let flag = ran.clone();
            let queued = tokio::spawn(async move {
                second
                    .query(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst))
                    .await
            });
            // Its job is queued behind the first when its caller goes.
            tokio::time::sleep(Duration::from_millis(50)).await;
            queued.abort();
            let _ = queued.await;
            gate_tx.send(()).unwrap();
            blocker.await.unwrap().unwrap();
            // The jobs run in order: by this one's answer, the second's
            // turn has come and gone.
            writer.query(|_| ()).await.unwrap();
            assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        });
    }

    #[test]
    fn a_panicking_query_is_an_error_not_a_crash() {
        runtime().block_on(async {
            let writer = Writer::spawn(Host::new(), Handle::current(), |_| {});
            // The panic's message goes to stderr, as it would in the server.
            let result: Result<(), JobError> = writer
                .query(|_| std::panic::panic_any("a bug".to_string()))
                .await;
            assert_eq!(result, Err(JobError::Panicked("a bug".into())));
            assert!(writer.query(|_| ()).await.is_ok());
        });
    }
}

//! Background work yields to the threads answering requests: a reload's
//! compilation, its tests and the compile workers of
//! [`BackendChoice::Auto`](crate::BackendChoice) lower their own thread's
//! priority, so that a busy machine runs evaluations first and a reload
//! only slows down itself. On Linux the thread's nice value is raised to
//! [`LOW_NICE`] (`setpriority` on the thread id, which Linux applies to the
//! one thread); elsewhere nothing changes. An embedder that wants its
//! reloads at full priority calls [`set_background_priority`] with
//! [`BackgroundPriority::Normal`] before loading.

use std::sync::atomic::{AtomicBool, Ordering};

/// The nice value background threads take (19 is the lowest priority).
pub const LOW_NICE: i32 = 15;

/// The priority of the threads that reload and compile in the background.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackgroundPriority {
    /// Below the request threads (the default).
    #[default]
    Low,
    /// The same as every other thread of the process.
    Normal,
}

static NORMAL: AtomicBool = AtomicBool::new(false);

/// Choose, for the whole process, the priority of background threads
/// started from now on (threads already lowered stay lowered).
pub fn set_background_priority(priority: BackgroundPriority) {
    NORMAL.store(priority == BackgroundPriority::Normal, Ordering::Relaxed);
}

/// The priority background threads take.
pub fn background_priority() -> BackgroundPriority {
    if NORMAL.load(Ordering::Relaxed) {
        BackgroundPriority::Normal
    } else {
        BackgroundPriority::Low
    }
}

/// Lower the calling thread's priority, unless the process chose
/// [`BackgroundPriority::Normal`]. Call it only on a thread of one's own:
/// an unprivileged thread cannot raise its priority back. Failure is
/// ignored (the work then runs at normal priority, as before).
pub fn lower_this_thread() {
    if background_priority() == BackgroundPriority::Normal {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid takes no argument and cannot fail; setpriority
        // only reads its integer arguments.
        let tid = unsafe { libc::gettid() };
        // `id_t` is unsigned; a thread id is always positive.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, LOW_NICE) };
    }
}

/// This thread's nice value (Linux; `None` elsewhere), for tests.
pub fn this_thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as in `lower_this_thread`. -1 is also a valid nice
        // value, but a test only compares against LOW_NICE.
        let tid = unsafe { libc::gettid() };
        Some(unsafe { libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_only_itself() {
        let before = this_thread_nice();
        let lowered = std::thread::spawn(|| {
            lower_this_thread();
            this_thread_nice()
        })
        .join()
        .expect("thread");
        assert_eq!(this_thread_nice(), before);
        if cfg!(target_os = "linux") {
            assert!(lowered.is_some_and(|n| n >= LOW_NICE), "{lowered:?}");
        }
    }
}

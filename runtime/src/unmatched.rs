//! What a caller's JSON context held that the schema does not declare: an
//! unknown context (`"plna": {...}`) or an unknown field (`user.emial`).
//! Evaluation goes on without them; they are reported as warnings, with
//! the nearest declared name, and counted for the service's metrics, so
//! that a typo in a caller's context is found in minutes.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A part of a JSON context that the schema does not declare; it was
/// ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextWarning {
    /// A top-level name that is not a declared context.
    UnknownContext {
        /// The name given.
        name: String,
        /// The nearest declared context, if one is close enough to be a typo.
        nearest: Option<String>,
    },
    /// A field a declared context does not have.
    UnknownField {
        /// The context (`user` of `user.emial`).
        context: String,
        /// The field given (`emial` of `user.emial`).
        name: String,
        /// The nearest declared field of that context, if one is close.
        nearest: Option<String>,
    },
}

impl fmt::Display for ContextWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextWarning::UnknownContext { name, nearest } => {
                write!(f, "unknown context `{name}` ignored")?;
                match nearest {
                    Some(n) => write!(f, "; did you mean `{n}`?"),
                    None => write!(f, "; the flags declare no such context"),
                }
            }
            ContextWarning::UnknownField {
                context,
                name,
                nearest,
            } => {
                write!(f, "unknown field `{context}.{name}` ignored")?;
                match nearest {
                    Some(n) => write!(f, "; did you mean `{context}.{n}`?"),
                    None => write!(f, "; `{context}` declares no such field"),
                }
            }
        }
    }
}

/// Counters of what contexts built from JSON held that the schema does not
/// declare, shared by every snapshot of an [`Engine`](crate::Engine) (they
/// survive reloads).
#[derive(Debug, Default)]
pub(crate) struct ContextStats {
    unknown_contexts: AtomicU64,
    unknown_fields: AtomicU64,
}

impl ContextStats {
    pub(crate) fn count(&self, warning: &ContextWarning) {
        let counter = match warning {
            ContextWarning::UnknownContext { .. } => &self.unknown_contexts,
            ContextWarning::UnknownField { .. } => &self.unknown_fields,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> ContextCounts {
        ContextCounts {
            unknown_contexts: self.unknown_contexts.load(Ordering::Relaxed),
            unknown_fields: self.unknown_fields.load(Ordering::Relaxed),
        }
    }
}

/// How many unknown contexts and fields the contexts built from JSON have
/// held since the engine started ([`Engine::context_counts`](crate::Engine::context_counts)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextCounts {
    /// Top-level names that were not declared contexts.
    pub unknown_contexts: u64,
    /// Fields that their context does not declare.
    pub unknown_fields: u64,
}

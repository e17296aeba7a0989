//! What compiled code and the Rust around it agree on: the arguments a
//! compiled function receives, and how it packs an [`Outcome`] and a
//! three-valued condition into one 64-bit word.

use vexil_ir::{ErrorCode, Reason};

use crate::context::{Context, Slot};
use crate::outcome::Outcome;

/// The context's header, in the `Context` itself (offsets from the
/// context pointer): a bit per present slot, a bit per invalid slot.
pub(crate) const HEADER_PRESENT: i32 = std::mem::offset_of!(Context, present) as i32;
pub(crate) const HEADER_INVALID: i32 = std::mem::offset_of!(Context, invalid) as i32;

/// `Slot` field offsets, for loads from compiled code.
pub(crate) const SLOT_SIZE: i64 = 24;
pub(crate) const SLOT_TAG: i32 = 0;
pub(crate) const SLOT_AUX: i32 = 4;
pub(crate) const SLOT_A: i32 = 8;
pub(crate) const SLOT_B: i32 = 16;
const _: () = assert!(std::mem::size_of::<Slot>() == 24);

/// What a flag or experiment function returns: the outcome word, and the
/// rule index or the detail when the word says there is one (rule and
/// detail never occur together). Two words, returned in two registers.
#[repr(C)]
pub(crate) struct Returned {
    pub word: u64,
    pub extra: u64,
}

/// A flag or experiment function:
/// `(slots, text, list items, context, now, depth) -> (word, extra)`, all
/// in registers. The context is for helpers (pre-releases).
pub(crate) type TargetFn =
    unsafe extern "C" fn(*const Slot, *const u8, *const Slot, *const Context, i64, i64) -> Returned;

// The outcome word: value in bits 0..32, reason in 32..40, error code + 1
// in 40..48 (0: none), then whether `extra` holds the rule or the detail.
pub(crate) const REASON_SHIFT: u32 = 32;
pub(crate) const ERROR_SHIFT: u32 = 40;
pub(crate) const ERROR_MASK: u64 = 0xff << ERROR_SHIFT;
pub(crate) const HAS_RULE: u64 = 1 << 48;
pub(crate) const HAS_DETAIL: u64 = 1 << 49;

pub(crate) fn reason_bits(reason: Reason) -> u64 {
    let index = Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
    (index as u64) << REASON_SHIFT
}

pub(crate) fn error_bits(code: ErrorCode) -> u64 {
    let index = ErrorCode::ALL.iter().position(|c| *c == code).unwrap_or(0);
    (index as u64 + 1) << ERROR_SHIFT
}

/// The word of an outcome without rule or detail.
pub(crate) fn word(value: u32, reason: Reason) -> u64 {
    u64::from(value) | reason_bits(reason)
}

/// The word of an error outcome (its detail, if any, goes in `extra`).
pub(crate) fn error_word(value: u32, code: ErrorCode) -> u64 {
    u64::from(value) | reason_bits(Reason::Error) | error_bits(code)
}

/// The served value's index in an outcome word.
#[inline]
pub(crate) fn word_value(word: u64) -> u32 {
    word as u32
}

#[inline]
pub(crate) fn decode(word: u64, extra: u64) -> Outcome {
    let reason = Reason::ALL
        .get(((word >> REASON_SHIFT) & 0xff) as usize)
        .copied()
        .unwrap_or(Reason::Error);
    let error = match (word & ERROR_MASK) >> ERROR_SHIFT {
        0 => None,
        n => ErrorCode::ALL.get(n as usize - 1).copied(),
    };
    let extra = extra as u32;
    Outcome {
        value: word_value(word),
        reason,
        rule: (word & HAS_RULE != 0).then_some(extra),
        error,
        detail: (word & HAS_DETAIL != 0).then_some(extra),
    }
}

/// Condition results of a segment compiled as its own function: the low
/// byte is the value; for an error, the slot at fault is in bits 32..64.
pub(crate) const TRI_FALSE: i64 = 0;
pub(crate) const TRI_TRUE: i64 = 1;
pub(crate) const TRI_UNKNOWN: i64 = 2;
pub(crate) const TRI_ERROR: i64 = 3;

//! The one interface every evaluation backend implements: the reference
//! interpreter, and compiled machine code. Backends are pure functions of
//! (program, context, time) → [`Outcome`]; exposure events and details are
//! produced around them, the same for all backends.

use crate::context::Context;
use crate::outcome::Outcome;

pub trait Backend: Send + Sync {
    /// A short name, for `Engine::backend_name` and logs.
    fn name(&self) -> &'static str;

    /// Evaluate the flag at `index` (in the bundle's order).
    fn flag(&self, index: u32, ctx: &Context, now: i64) -> Outcome;

    /// Evaluate the experiment at `index`.
    fn experiment(&self, index: u32, ctx: &Context, now: i64) -> Outcome;
}

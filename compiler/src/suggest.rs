//! "Did you mean": the closest declared name to a misspelt one (shared with
//! the runtime, which suggests fields for a caller's context).

pub use vexil_words::did_you_mean;

//! Support code for the cross-engine workload bench.
//!
//! The workload (`/work/shared/bench/WORKLOAD.md`, copied data in `data/`) is
//! six flags F1..F6 evaluated for 10,000 users. Every engine measured on it,
//! the hand-written floor, the peer flag engines and later Vexil's own
//! evaluators, implements [`WorkloadEngine`], so one bench harness and one
//! correctness test drive them all.

pub mod engine;
pub mod growthbook;
pub mod launchdarkly;
pub mod murmur3;
pub mod native;
pub mod user;
pub mod vexil;
pub mod workload;
pub mod yggdrasil;

pub use engine::{BenchError, WorkloadEngine};
pub use workload::{Answer, Flag, Variant, Workload, WorkloadUser};

//! Experiment event data: exposures and metric events, their JSON Lines
//! format, a store (an embedded SQLite file, or PostgreSQL), metrics aggregated to per-variant
//! sufficient statistics in portable SQL, the analysis of an experiment
//! with `vexil-analytics`, and simulated data with a known effect.
//!
//! The store's schema and the line format are in `SCHEMA.md`.

#![warn(missing_docs)]

mod aggregate;
mod analysis;
mod event;
mod id;
mod ingest;
mod input;
mod line;
mod metric;
mod per_unit;
mod postgres;
pub mod present;
mod query;
pub mod rollout;
pub mod simulate;
mod sql;
mod store;
mod timeline;

pub use aggregate::{metrics_query, metrics_query_in, Aggregates, Cell, Sums};
pub use analysis::{
    analysis_order, analyze_experiment, report_from, weights, AnalysisOptions, Comparison,
    Guardrail, GuardrailState, MetricResult, Report, Srm, VariantUnits,
};
pub use event::{Event, Exposure, Track};
pub use id::{derived_exposure_id, derived_track_id, given_id, EventId};
pub use ingest::{IngestReport, LineError, MAX_REPORTED_ERRORS};
pub use line::parse_event;
pub use metric::{MetricSpec, DAY, DEFAULT_PRE_PERIOD};
pub use query::{EventTable, ExposureTable, Tables, TimeUnitName};
pub use sql::Dialect;
pub use store::{Store, StoreError, SCHEMA_VERSION};
pub use timeline::{Point, Series};

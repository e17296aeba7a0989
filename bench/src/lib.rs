//! Support code for the cross-engine workload bench.

//! Staged rollouts as a function of the evaluation time: which stage is in
//! force at `now`, and how many buckets it serves. The interpreter, the
//! test runner and the tools read it here; the JIT compiles the same rule
//! (a stage is in force from its start until the next one's).

use crate::program::Stage;

/// The index of the stage in force at `now`: the last one that has started,
/// or `None` before the first starts. `stages` are by ascending start.
pub fn stage_at(stages: &[Stage], now: i64) -> Option<usize> {
    stages.iter().rposition(|s| s.starts <= now)
}

/// How many buckets the staged rollout serves at `now`: the stage in force,
/// none before the first stage.
pub fn staged_buckets(stages: &[Stage], now: i64) -> u32 {
    stage_at(stages, now)
        .and_then(|i| stages.get(i))
        .map_or(0, |s| s.buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGES: [Stage; 3] = [
        Stage {
            starts: 100,
            buckets: 1_000,
        },
        Stage {
            starts: 200,
            buckets: 5_000,
        },
        Stage {
            starts: 300,
            buckets: 100_000,
        },
    ];

    #[test]
    fn each_stage_holds_from_its_start_to_the_next() {
        assert_eq!(stage_at(&STAGES, 99), None);
        assert_eq!(staged_buckets(&STAGES, 99), 0);
        assert_eq!(stage_at(&STAGES, 100), Some(0));
        assert_eq!(staged_buckets(&STAGES, 199), 1_000);
        assert_eq!(staged_buckets(&STAGES, 200), 5_000);
        assert_eq!(stage_at(&STAGES, i64::MAX), Some(2));
        assert_eq!(staged_buckets(&STAGES, i64::MIN), 0);
    }
}

//! Which flags read the clock: `Bundle::flags_reading_clock`, which lets
//! `Engine` skip reading the time for flags that cannot depend on it. A
//! flag it calls time-independent must give the same outcome at any time;
//! one that has a time window, a `now` comparison, such a segment or such
//! a prerequisite must be marked.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;

use common::*;
use vexil_runtime::testing::test_context;
use vexil_runtime::{BackendChoice, Engine, Snapshot, Target};

const FLAGS: &str = r#"
segment recent {
  user.created_at >= now
}

segment pros {
  user.plan == pro
}

segment recent-pros {
  recent and pros
}

flag plain: bool {
  kind release
  default false
  rule pros: when pros => true
}

flag windowed: bool {
  kind release
  default false
  rule later: from 2000-01-01 => true
}

flag compares-now: bool {
  kind release
  default false
  rule r: when now > 2000-01-01T00:00:00Z and user.beta => true
}

flag through-segment: bool {
  kind release
  default false
  rule r: when not recent-pros => true
}

flag requires-windowed: bool {
  kind release
  default false
  requires windowed == true
  rule all: => true
}

flag requires-plain: bool {
  kind release
  default false
  requires plain == true
  rule all: => true
}

flag off-but-windowed: bool {
  kind release
  enabled false
  default false
  rule later: from 2000-01-01 => true
}
"#;

fn reads(s: &Snapshot, name: &str) -> bool {
    s.reads_clock(s.target(name).unwrap())
}

#[test]
fn the_clock_is_read_exactly_where_time_can_matter() {
    let s = snapshot(FLAGS);
    for name in ["plain", "requires-plain", "off-but-windowed"] {
        assert!(!reads(&s, name), "{name} does not depend on the time");
    }
    for name in [
        "windowed",
        "compares-now",
        "through-segment",
        "requires-windowed",
    ] {
        assert!(reads(&s, name), "{name} depends on the time");
    }
}

#[test]
fn the_engine_reads_the_clock_for_time_windows() {
    let bundle = bundle_with(FLAGS, false);
    for backend in [BackendChoice::Interpreter, BackendChoice::Auto] {
        let engine = Engine::from_bundle(
            bundle.clone(),
            vexil_runtime::EngineOptions {
                backend,
                ..options()
            },
        )
        .unwrap();
        let ctx = engine
            .snapshot()
            .layout()
            .context_from_json_str(r#"{"user": {"id": "u", "plan": "pro", "beta": true}}"#)
            .unwrap();
        // Served only after 2000-01-01: true at the real time, which time 0
        // (1970) would get wrong.
        assert!(engine.bool_value("windowed", &ctx, false));
        assert!(engine.bool_value("compares-now", &ctx, false));
        assert!(engine.bool_value("requires-windowed", &ctx, false));
        assert!(engine.bool_value("plain", &ctx, false));
        assert!(engine.bool_value("requires-plain", &ctx, false));
        assert_eq!(
            engine.evaluate("windowed", &ctx).rule.map(|r| r.index),
            Some(0)
        );
    }
}

/// Over the shipped repositories, a flag called time-independent gives the
/// same outcome for every test context at times decades apart.
#[test]
fn time_independent_flags_do_not_change_with_time() {
    let times = [
        0,
        1_000_000_000_000_000,
        1_796_464_800_000_000,
        4_000_000_000_000_000,
    ];
    let mut checked = 0;
    for repo in ["examples/shop", "bench/workload"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(repo);
        let project = vexil_compiler::Project::from_dir(&dir).unwrap();
        let bundle = project.bundle(true).unwrap();
        let s = Snapshot::new(bundle.clone(), BackendChoice::Interpreter, None, 1).unwrap();
        let marked = bundle.flags_reading_clock();
        assert!(marked.iter().any(|m| *m) || repo == "bench/workload");
        for test in &bundle.tests {
            let ctx = test_context(s.layout(), test);
            for (i, reads) in marked.iter().enumerate() {
                if *reads {
                    continue;
                }
                let t = Target::Flag(i as u32);
                let first = s.outcome(t, &ctx, times[0]);
                for now in &times[1..] {
                    assert_eq!(
                        s.outcome(t, &ctx, *now),
                        first,
                        "{repo}: {} at {now}",
                        bundle.flags[i].name
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} evaluations compared");
}

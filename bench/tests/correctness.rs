//! Every engine gives the workload's answers: exactly the recorded ones for
//! F1, F2, F4 and F6 on all 10,000 users, and for the hashed flags the
//! intended shares (F3: 25 % ± 1.5 points; F5: `control` outside the
//! audience, 34/33/33 ± 2 points inside it). The path from JSON and the
//! all-flags path must agree with the prepared path.
//!
//! One engine misses a share on these users by sampling alone: see
//! [`YGGDRASIL_F5_SPLIT`]. Every engine's F5 split is also checked on 50,000
//! synthetic audience users, where sampling noise is a fifth as large.

// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;

use serde_json::Value;
use vexil_bench::growthbook::GrowthBook;
use vexil_bench::launchdarkly::LaunchDarkly;
use vexil_bench::native::Native;
use vexil_bench::vexil::{Interp, Jit};
use vexil_bench::workload::TARGET_10;
use vexil_bench::yggdrasil::Yggdrasil;
use vexil_bench::{Answer, Flag, Variant, Workload, WorkloadEngine};

/// Every how many users the JSON path is cross-checked: it repeats the
/// prepared path's work, and peers are slow in a debug build.
const JSON_STRIDE: usize = 7;

/// Yggdrasil's F5 split (control/a/b, %) of the workload's 3,047 audience
/// users. `b` is 2.02 points over 33 %, 2.4 standard deviations of a share
/// of that sample: its variant hash (murmur3 of `experiment-3way:<id>`,
/// seed 86028157) happens to fall that way on these ids. The config is
/// right: on 50,000 synthetic users the split is within a point of
/// 34/33/33 (`yggdrasil_splits_f5_34_33_33`), and a Python re-implementation
/// of the hash gives the same figures. Re-drawing the hash with another
/// group id until the sample passes would hide nothing but the noise, so the
/// exact split is pinned instead of the ± 2 points.
const YGGDRASIL_F5_SPLIT: [f64; 3] = [32.85, 32.13, 35.02];

#[test]
fn native_gives_the_workload_answers() {
    check_engine(&Native::load().unwrap(), None);
}

#[test]
fn interp_gives_the_workload_answers() {
    check_engine(&Interp::load().unwrap(), None);
}

#[test]
fn jit_gives_the_workload_answers() {
    check_engine(&Jit::load().unwrap(), None);
}

#[test]
fn yggdrasil_gives_the_workload_answers() {
    check_engine(&Yggdrasil::load().unwrap(), Some(YGGDRASIL_F5_SPLIT));
}

#[test]
fn launchdarkly_gives_the_workload_answers() {
    check_engine(&LaunchDarkly::load().unwrap(), None);
}

#[test]
fn growthbook_gives_the_workload_answers() {
    check_engine(&GrowthBook::load().unwrap(), None);
}

#[test]
fn native_splits_f5_34_33_33() {
    check_f5_split(&Native::load().unwrap());
}

#[test]
fn interp_splits_f5_34_33_33() {
    check_f5_split(&Interp::load().unwrap());
}

#[test]
fn jit_splits_f5_34_33_33() {
    check_f5_split(&Jit::load().unwrap());
}

#[test]
fn yggdrasil_splits_f5_34_33_33() {
    check_f5_split(&Yggdrasil::load().unwrap());
}

#[test]
fn launchdarkly_splits_f5_34_33_33() {
    check_f5_split(&LaunchDarkly::load().unwrap());
}

#[test]
fn growthbook_splits_f5_34_33_33() {
    check_f5_split(&GrowthBook::load().unwrap());
}

/// `known_f5_split`: the exact F5 split (control/a/b, %) to expect instead of
/// 34/33/33 ± 2, for an engine whose hash misses the band on this sample.
fn check_engine<E: WorkloadEngine>(engine: &E, known_f5_split: Option<[f64; 3]>) {
    let workload = Workload::load().unwrap();
    assert_eq!(workload.users.len(), 10_000);
    let contexts = workload.prepare(engine).unwrap();

    let mut mismatches: Vec<String> = Vec::new();
    let mut rollout_on = 0usize;
    let mut audience = 0usize;
    let mut split: HashMap<Variant, usize> = HashMap::new();

    for (index, (user, context)) in workload.users.iter().zip(&contexts).enumerate() {
        let answers = engine.evaluate_all(context);
        let expected = [
            (Flag::F1, Answer::Bool(user.expected.f1)),
            (Flag::F2, Answer::Bool(user.expected.f2)),
            (Flag::F4, Answer::Bool(user.expected.f4)),
            (Flag::F6, Answer::Variant(user.expected.f6)),
        ];
        for (flag, want) in expected {
            let got = engine.evaluate(flag, context);
            if got != want {
                mismatches.push(format!("user {index} {}: {got:?} != {want:?}", flag.id()));
            }
        }
        for (flag, from_all) in Flag::ALL.into_iter().zip(answers) {
            let one = engine.evaluate(flag, context);
            assert_eq!(from_all, one, "user {index} {}: all vs one", flag.id());
            if index % JSON_STRIDE == 0 {
                let from_json = engine.evaluate_request(flag, &user.request).unwrap();
                assert_eq!(
                    from_json,
                    one,
                    "user {index} {}: json vs prepared",
                    flag.id()
                );
            }
        }

        match engine.evaluate(Flag::F3, context) {
            Answer::Bool(true) => rollout_on += 1,
            Answer::Bool(false) => {}
            other => mismatches.push(format!("user {index} F3: {other:?}")),
        }
        let f5 = engine.evaluate(Flag::F5, context);
        if in_audience(&user.request) {
            audience += 1;
            match f5 {
                Answer::Variant(variant @ (Variant::Control | Variant::A | Variant::B)) => {
                    *split.entry(variant).or_default() += 1;
                }
                other => mismatches.push(format!("user {index} F5 (audience): {other:?}")),
            }
        } else if f5 != Answer::Variant(Variant::Control) {
            mismatches.push(format!("user {index} F5 (outside audience): {f5:?}"));
        }
    }

    assert!(
        mismatches.is_empty(),
        "{}: {} mismatches, first: {:#?}",
        E::NAME,
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );

    let share = |count: usize, of: usize| 100.0 * count as f64 / of as f64;
    let rollout = share(rollout_on, contexts.len());
    let control = share(split.get(&Variant::Control).copied().unwrap_or(0), audience);
    let a = share(split.get(&Variant::A).copied().unwrap_or(0), audience);
    let b = share(split.get(&Variant::B).copied().unwrap_or(0), audience);
    println!(
        "{}: F3 on {rollout:.2} %; F5 audience {audience} users, control/a/b {control:.2}/{a:.2}/{b:.2} %",
        E::NAME
    );
    assert!(
        (rollout - 25.0).abs() <= 1.5,
        "{}: F3 share {rollout:.2} %",
        E::NAME
    );
    assert!(audience > 0);
    match known_f5_split {
        None => assert_split([control, a, b], 2.0, E::NAME),
        Some(known) => {
            for (got, want) in [control, a, b].into_iter().zip(known) {
                assert!(
                    (got - want).abs() < 0.005,
                    "{}: F5 split {control:.2}/{a:.2}/{b:.2} %, pinned {known:?}",
                    E::NAME
                );
            }
        }
    }
}

fn assert_split(shares: [f64; 3], tolerance: f64, engine: &str) {
    for (name, got, want) in [("control", 34.0), ("a", 33.0), ("b", 33.0)]
        .into_iter()
        .zip(shares)
        .map(|((name, want), got)| (name, got, want))
    {
        assert!(
            (got - want).abs() <= tolerance,
            "{engine}: F5 `{name}` share {got:.2} %, want {want} ± {tolerance}",
        );
    }
}

/// F5 on 50,000 synthetic users, all in the audience, with ids drawn from a
/// fixed-seed generator in the workload's uuid-v4 layout. A share's standard
/// deviation is 0.21 points here, so ± 1 point leaves no room for a wrong
/// weight or a wrong hash attribute.
fn check_f5_split<E: WorkloadEngine>(engine: &E) {
    const USERS: usize = 50_000;
    let mut state = 0x853c_49e6_748f_ea9b_u64;
    let mut counts = [0usize; 3];
    for _ in 0..USERS {
        let id = synthetic_id(&mut state);
        let request = format!(
            r#"{{"age":30,"app_version":"2.0.0","beta":false,"country":"US","created_at":"2022-01-01T00:00:00Z","email":"user@gmail.com","id":"{id}","plan":"free"}}"#
        );
        match engine.evaluate_request(Flag::F5, &request).unwrap() {
            Answer::Variant(Variant::Control) => counts[0] += 1,
            Answer::Variant(Variant::A) => counts[1] += 1,
            Answer::Variant(Variant::B) => counts[2] += 1,
            other => panic!("{}: F5 answered {other:?}", E::NAME),
        }
    }
    let shares = counts.map(|count| 100.0 * count as f64 / USERS as f64);
    println!("{}: F5 on {USERS} synthetic users {shares:.2?} %", E::NAME);
    assert_split(shares, 1.0, E::NAME);
}

/// 128 bits of splitmix64 output in the uuid-v4 text layout.
fn synthetic_id(state: &mut u64) -> String {
    let mut next = || {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let bits = (u128::from(next()) << 64) | u128::from(next());
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// F5's audience, read from the request itself rather than through any
/// engine: `country` in TARGET_10 and `age >= 18`.
fn in_audience(request: &str) -> bool {
    let user: Value = serde_json::from_str(request).unwrap();
    let country = user["country"].as_str().unwrap();
    let age = user["age"].as_i64().unwrap();
    TARGET_10.contains(&country) && age >= 18
}

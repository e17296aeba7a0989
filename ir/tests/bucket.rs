//! The bucketing function: pinned vectors, agreement with Unleash's
//! published rollout cases, uniformity and rollout monotonicity.

use vexil_ir::bucket::{
    bucket, buckets_to_percent, murmur3_x86_32, percent_to_buckets, Murmur3, BUCKETS,
};

/// Computed independently with Python's `mmh3` 5.3.1:
/// `mmh3.hash(s.encode(), 0, signed=False)`.
const VECTORS: &[(&str, u32)] = &[
    ("", 0),
    ("a", 1_009_084_850),
    ("ab", 2_613_040_991),
    ("abc", 3_017_643_002),
    ("abcd", 1_139_631_978),
    ("hello", 613_153_351),
    ("The quick brown fox jumps over the lazy dog", 776_992_547),
    ("new-checkout:user-42", 1_499_260_774),
    (
        "rollout-25:e469747f-115f-483d-ad4c-4df07086f5a4",
        3_610_134_865,
    ),
    ("salt:ünïcödé", 7_859_427),
    ("checkout-layout:u1", 2_370_804_226),
];

#[test]
fn murmur3_matches_reference_vectors() {
    for (input, expected) in VECTORS {
        assert_eq!(murmur3_x86_32(input.as_bytes(), 0), *expected, "{input:?}");
    }
}

#[test]
fn feeding_in_pieces_gives_the_same_hash() {
    for (input, expected) in VECTORS {
        let bytes = input.as_bytes();
        for cut1 in 0..=bytes.len() {
            for cut2 in cut1..=bytes.len() {
                let mut h = Murmur3::new(0);
                h.write(&bytes[..cut1]);
                h.write(&bytes[cut1..cut2]);
                h.write(&bytes[cut2..]);
                assert_eq!(h.finish(), *expected, "{input:?} cut at {cut1},{cut2}");
            }
        }
    }
}

#[test]
fn bucket_hashes_salt_colon_unit() {
    assert_eq!(bucket("new-checkout", "user-42"), 1_499_260_774 % BUCKETS);
    assert_eq!(bucket("new-checkout", "user-42"), 60_774);
    assert_eq!(bucket("checkout-layout", "u1"), 4_226);
    assert_eq!(bucket("salt", "ünïcödé"), 59_427);
}

/// Unleash's flexibleRollout (spec file 10) hashes `groupId:userId` with the
/// same function; its published expectations pin our hash from outside.
#[test]
fn agrees_with_unleash_flexible_rollout_cases() {
    let unleash = |group: &str, id: &str, rollout: u32| {
        murmur3_x86_32(format!("{group}:{id}").as_bytes(), 0) % 100 < rollout
    };
    assert!(unleash("Feature.flexibleRollout.10", "174", 10));
    assert!(!unleash("Feature.flexibleRollout.10", "499", 10));
    assert!(unleash("Feature.flexibleRollout.userId.55", "25", 55));
    assert!(unleash("Feature.flexibleRollout.sessionId.42", "147", 42));
}

/// Chi-square over 100 equal bins of the bucket range, 100,000 keys.
#[test]
fn buckets_are_uniform() {
    let keys = 100_000u32;
    let bins = 100usize;
    let mut counts = vec![0u32; bins];
    for i in 0..keys {
        let b = bucket("uniformity", &format!("user-{i}"));
        counts[(b as usize * bins) / BUCKETS as usize] += 1;
    }
    let expected = f64::from(keys) / bins as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    // The 0.999 quantile of chi-square with 99 degrees of freedom is 148.23:
    // a uniform hash fails this one time in a thousand.
    assert!(chi2 < 148.23, "chi-square {chi2:.1} over {bins} bins");
}

#[test]
fn raising_a_rollout_keeps_every_unit_already_in() {
    let at = |pct: f64| percent_to_buckets(pct).unwrap();
    let (ten, twenty) = (at(10.0), at(20.0));
    let mut in_ten = 0;
    for i in 0..100_000 {
        let b = bucket("monotonic", &format!("unit-{i}"));
        if b < ten {
            in_ten += 1;
            assert!(b < twenty, "unit-{i} left the rollout when it grew");
        }
    }
    // And the 10% really is about 10%.
    assert!((9_500..=10_500).contains(&in_ten), "{in_ten}");
}

#[test]
fn percentages_convert_exactly_or_not_at_all() {
    assert_eq!(percent_to_buckets(25.0), Some(25_000));
    assert_eq!(percent_to_buckets(33.333), Some(33_333));
    assert_eq!(percent_to_buckets(100.0), Some(BUCKETS));
    assert_eq!(percent_to_buckets(0.0), Some(0));
    assert_eq!(percent_to_buckets(33.3333), None);
    assert_eq!(percent_to_buckets(100.5), None);
    assert_eq!(percent_to_buckets(-1.0), None);
}

#[test]
fn bucket_counts_read_back_as_the_percentages_written() {
    assert_eq!(buckets_to_percent(25_000), "25%");
    assert_eq!(buckets_to_percent(12_500), "12.5%");
    assert_eq!(buckets_to_percent(33_333), "33.333%");
    assert_eq!(buckets_to_percent(1), "0.001%");
    assert_eq!(buckets_to_percent(0), "0%");
    assert_eq!(buckets_to_percent(BUCKETS), "100%");
    // Over 100% too: a layer's total is quoted when it overflows.
    assert_eq!(buckets_to_percent(150_010), "150.01%");
    for text in ["7.25", "99.999", "50"] {
        let buckets = text.parse().ok().and_then(percent_to_buckets).unwrap();
        assert_eq!(buckets_to_percent(buckets), format!("{text}%"));
    }
}

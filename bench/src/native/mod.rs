//! The floor: the six flags written by hand in plain Rust over a typed user.
//!
//! Every field is converted once when the context is built: country to an
//! interned code, plan to an enum, `app_version` to a packed integer,
//! `created_at` to unix seconds. Evaluation is then integer compares and two
//! string affix tests. F3 and F5 bucket a user by
//! `murmur3_x86_32("<flag-key>:<id>", seed 0) % 100_000` (see [`bucket`]),
//! the flag key being the workload's (`rollout-25`, `experiment-3way`) and
//! the id the user's `id` string as sent: F3 is on below bucket 25,000; F5
//! is `control` below 34,000, `a` below 67,000, `b` above.

mod country;

use crate::engine::{BenchError, WorkloadEngine};
use crate::murmur3::bucket;
use crate::user::UserRecord;
use crate::workload::{Answer, Flag, Variant, LIST_50, TARGET_10};

pub use country::{CountryCode, CountrySet, US};

const TARGET: CountrySet = CountrySet::of(&TARGET_10);
const INTL: CountrySet = CountrySet::of(&LIST_50);

/// 2025-06-01T00:00:00Z, F6's `new-free` cut-off; a unit test checks it.
const NEW_FREE_AFTER: i64 = 1_748_736_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    fn parse(plan: &str) -> Option<Plan> {
        match plan {
            "free" => Some(Plan::Free),
            "pro" => Some(Plan::Pro),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

/// A release version `major.minor.patch` packed so that integer order is
/// version order: 21 bits each, major highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackedVersion(u64);

impl PackedVersion {
    const PART_BITS: u32 = 21;
    const PART_MAX: u64 = (1 << Self::PART_BITS) - 1;

    pub const fn new(major: u64, minor: u64, patch: u64) -> Option<PackedVersion> {
        if major > Self::PART_MAX || minor > Self::PART_MAX || patch > Self::PART_MAX {
            return None;
        }
        Some(PackedVersion(
            (major << (2 * Self::PART_BITS)) | (minor << Self::PART_BITS) | patch,
        ))
    }

    /// Parses a semver string. Pre-release and build metadata are refused:
    /// packing cannot order them, and the workload sends none.
    pub fn parse(text: &str) -> Option<PackedVersion> {
        let version = semver::Version::parse(text).ok()?;
        if !version.pre.is_empty() || !version.build.is_empty() {
            return None;
        }
        PackedVersion::new(version.major, version.minor, version.patch)
    }
}

// `new` returns `None` only for parts over 2^21; these are literals below it.
const V1_5_0: PackedVersion = PackedVersion((1 << 42) | (5 << 21));
const V2_3_0: PackedVersion = PackedVersion((2 << 42) | (3 << 21));
const V3_0_0: PackedVersion = PackedVersion(3 << 42);

/// The floor's context: one user with every field in its working type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeUser {
    pub id: String,
    pub email: String,
    pub country: CountryCode,
    pub plan: Plan,
    pub age: i64,
    pub app_version: PackedVersion,
    pub beta: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl NativeUser {
    pub fn from_record(record: &UserRecord<'_>) -> Result<NativeUser, BenchError> {
        let refuse = |field: &'static str, value: &str| BenchError::Field {
            field,
            value: value.to_owned(),
        };
        let country = CountryCode::parse(&record.country)
            .ok_or_else(|| refuse("country", &record.country))?;
        let plan = Plan::parse(&record.plan).ok_or_else(|| refuse("plan", &record.plan))?;
        let app_version = PackedVersion::parse(&record.app_version)
            .ok_or_else(|| refuse("app_version", &record.app_version))?;
        let created_at = record
            .created_at
            .parse::<jiff::Timestamp>()
            .map_err(|_| refuse("created_at", &record.created_at))?
            .as_second();
        Ok(NativeUser {
            id: record.id.clone().into_owned(),
            email: record.email.clone().into_owned(),
            country,
            plan,
            age: record.age,
            app_version,
            beta: record.beta,
            created_at,
        })
    }
}

/// The hand-written engine. It has no configuration: the flags are code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Native;

impl Native {
    pub fn load() -> Result<Native, BenchError> {
        Ok(Native)
    }
}

impl WorkloadEngine for Native {
    const NAME: &'static str = "native";
    type Context = NativeUser;

    fn prepare(&self, request: &str) -> Result<NativeUser, BenchError> {
        NativeUser::from_record(&UserRecord::parse(request)?)
    }

    fn evaluate(&self, flag: Flag, user: &NativeUser) -> Answer {
        match flag {
            Flag::F1 => Answer::Bool(true),
            Flag::F2 => Answer::Bool(targeted(user)),
            Flag::F3 => Answer::Bool(bucket(flag.key(), &user.id) < 25_000),
            Flag::F4 => Answer::Bool(user.app_version >= V2_3_0 && user.beta),
            Flag::F5 => Answer::Variant(experiment(flag, user)),
            Flag::F6 => Answer::Variant(ten_rules(user)),
        }
    }
}

fn targeted(user: &NativeUser) -> bool {
    (TARGET.contains(user.country) && user.plan == Plan::Pro)
        || user.email.ends_with("@example.com")
}

fn experiment(flag: Flag, user: &NativeUser) -> Variant {
    if !(TARGET.contains(user.country) && user.age >= 18) {
        return Variant::Control;
    }
    match bucket(flag.key(), &user.id) {
        0..34_000 => Variant::Control,
        34_000..67_000 => Variant::A,
        _ => Variant::B,
    }
}

fn ten_rules(user: &NativeUser) -> Variant {
    if user.plan == Plan::Enterprise && user.beta {
        Variant::EntBeta
    } else if user.email.starts_with("qa+") {
        Variant::Qa
    } else if (13..18).contains(&user.age) {
        Variant::Minor
    } else if user.app_version < V1_5_0 {
        Variant::LegacyClient
    } else if INTL.contains(user.country) && user.plan == Plan::Pro {
        Variant::ProIntl
    } else if user.created_at > NEW_FREE_AFTER && user.plan == Plan::Free {
        Variant::NewFree
    } else if user.age >= 65 {
        Variant::Senior
    } else if user.app_version >= V3_0_0 && user.beta {
        Variant::NextBeta
    } else if user.email.ends_with("@example.com") && user.country == US {
        Variant::ExampleUs
    } else if INTL.contains(user.country) && (30..=45).contains(&user.age) {
        Variant::CoreIntl
    } else {
        Variant::Default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_their_text() {
        assert_eq!(PackedVersion::parse("1.5.0"), Some(V1_5_0));
        assert_eq!(PackedVersion::parse("2.3.0"), Some(V2_3_0));
        assert_eq!(PackedVersion::parse("3.0.0"), Some(V3_0_0));
        assert!(PackedVersion::parse("2.2.20") < Some(V2_3_0));
        assert!(PackedVersion::parse("2.10.0") > Some(V2_3_0));
        assert_eq!(PackedVersion::parse("2.3.0-rc.1"), None);
        assert_eq!(PackedVersion::parse("2.3"), None);
    }

    #[test]
    fn new_free_cutoff_matches_its_text() {
        let cutoff: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(cutoff.as_second(), NEW_FREE_AFTER);
    }
}

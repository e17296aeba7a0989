//! The expressions of issue 12 on every backend: time relative to `now`,
//! `contains any`/`contains all` on list fields, and the case-insensitive
//! `iequals` and `iin`. Each case states the answer it expects, and both
//! backends must give it (the differential test then proves them equal on
//! random programs).

#![cfg(feature = "jit")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use vexil_runtime::testing::run_tests;
use vexil_runtime::{BackendChoice, Snapshot};

const BACKENDS: [BackendChoice; 2] = [BackendChoice::Interpreter, BackendChoice::Jit];

/// Whether `condition` matches the context at `now` on `backend`:
/// `Some(true)` matched, `Some(false)` did not, `None` an error.
fn matches_on(backend: BackendChoice, condition: &str, context: &str, now: &str) -> Option<bool> {
    let s = snapshot_with(&condition_flag(condition), backend);
    let d = eval(&s, "f", context, now);
    if d.error_code.is_some() {
        return None;
    }
    Some(d.value == Some(serde_json::Value::Bool(true)))
}

/// Every case on every backend.
fn check(cases: &[(&str, &str, Option<bool>)], now: &str) {
    for backend in BACKENDS {
        for (condition, context, expected) in cases {
            assert_eq!(
                matches_on(backend, condition, context, now),
                *expected,
                "`{condition}` with {context} on {backend:?}"
            );
        }
    }
}

/// The `test` blocks of `source` pass on every backend.
fn tests_pass(source: &str) {
    let bundle = bundle_with(source, true);
    assert!(!bundle.tests.is_empty());
    for backend in BACKENDS {
        let s = Snapshot::new(bundle.clone(), backend, None, 1).unwrap();
        for r in run_tests(&s, &bundle.tests, 0) {
            assert!(r.passed(), "{backend:?}: {}: {:?}", r.name, r.failures);
        }
    }
}

// ---------------------------------------------------------------- time relative to now

const CREATED_NOV_1: &str = r#"{"user": {"id": "u", "created_at": "2026-11-01T00:00:00Z"}}"#;
const CREATED_OCT_1: &str = r#"{"user": {"id": "u", "created_at": "2026-10-01T00:00:00Z"}}"#;
const NO_CREATED: &str = r#"{"user": {"id": "u"}}"#;
const BAD_CREATED: &str = r#"{"user": {"id": "u", "created_at": "yesterday"}}"#;

#[test]
fn created_in_the_last_30_days() {
    // NOW is 2026-11-24T12:00:00Z: 30 days before is 2026-10-25T12:00:00Z.
    check(
        &[
            ("user.created_at > now - 30d", CREATED_NOV_1, Some(true)),
            ("user.created_at > now - 30d", CREATED_OCT_1, Some(false)),
            ("user.created_at > now - 30d", NO_CREATED, Some(false)),
            ("not (user.created_at > now - 30d)", NO_CREATED, Some(false)),
            ("user.created_at > now - 30d", BAD_CREATED, None),
            ("now - 30d < user.created_at", CREATED_NOV_1, Some(true)),
            ("user.created_at > now - 4w", CREATED_NOV_1, Some(true)),
            ("user.created_at > now - 3w", CREATED_NOV_1, Some(false)),
            ("user.created_at < now + 1h", CREATED_NOV_1, Some(true)),
        ],
        NOW,
    );
}

#[test]
fn every_unit_moves_by_its_length() {
    // 2026-11-01T00:00:00Z is NOW minus 23 days and 12 hours.
    check(
        &[
            ("user.created_at == now - 564h", CREATED_NOV_1, Some(true)),
            ("user.created_at == now - 33840m", CREATED_NOV_1, Some(true)),
            (
                "user.created_at == now - 2030400s",
                CREATED_NOV_1,
                Some(true),
            ),
            ("user.created_at < now - 23d", CREATED_NOV_1, Some(true)),
            ("user.created_at > now - 24d", CREATED_NOV_1, Some(true)),
            ("user.created_at > now - 3w", CREATED_NOV_1, Some(false)),
            ("user.created_at > now - 4w", CREATED_NOV_1, Some(true)),
        ],
        NOW,
    );
}

#[test]
fn now_moved_in_a_list_test() {
    check(
        &[
            (
                "user.created_at in [2026-11-01T00:00:00Z, 2026-11-02]",
                CREATED_NOV_1,
                Some(true),
            ),
            (
                "now - 564h in [2026-11-01T00:00:00Z, 2026-11-02]",
                NO_CREATED,
                Some(true),
            ),
            ("now + 1s in [2026-11-24T12:00:01Z]", NO_CREATED, Some(true)),
            ("now in [2026-11-24T12:00:01Z]", NO_CREATED, Some(false)),
        ],
        NOW,
    );
}

#[test]
fn a_flag_reading_now_moved_reads_the_clock() {
    let s = snapshot(&condition_flag("user.created_at > now - 30d"));
    assert!(s.reads_clock(s.target("f").unwrap()));
}

#[test]
fn tests_of_relative_time_pass_on_every_backend() {
    tests_pass(
        r#"
segment recent {
  user.created_at > now - 30d
}

flag welcome-tour: bool {
  kind release
  default false
  rule new: when recent => true
}

test "a new account sees the tour" {
  context {
    user { id: "u-1", created_at: 2026-11-20 }
  }
  now 2026-11-24T12:00:00Z
  expect welcome-tour == true
}

test "an old account does not" {
  context {
    user { id: "u-1", created_at: 2026-11-20 }
  }
  now 2027-01-24T12:00:00Z
  expect welcome-tour == false
  expect welcome-tour reason DEFAULT
}
"#,
    );
}

// ---------------------------------------------------------------- contains any / all

const ROLES_ADMIN_SUPPORT: &str =
    r#"{"user": {"id": "u", "roles": ["admin", "support"], "lucky": [3, 7]}}"#;
const ROLES_EMPTY: &str = r#"{"user": {"id": "u", "roles": [], "lucky": []}}"#;
const ROLES_MISSING: &str = r#"{"user": {"id": "u"}}"#;
const ROLES_INVALID: &str = r#"{"user": {"id": "u", "roles": "admin", "lucky": [1, "two"]}}"#;

#[test]
fn contains_any_of_a_list() {
    check(
        &[
            (
                r#"user.roles contains any ["owner", "admin"]"#,
                ROLES_ADMIN_SUPPORT,
                Some(true),
            ),
            (
                r#"user.roles contains any ["owner", "Admin"]"#,
                ROLES_ADMIN_SUPPORT,
                Some(false),
            ),
            (
                r#"user.roles contains any ["owner"]"#,
                ROLES_EMPTY,
                Some(false),
            ),
            (
                r#"user.roles contains any ["owner"]"#,
                ROLES_MISSING,
                Some(false),
            ),
            (
                r#"not (user.roles contains any ["owner"])"#,
                ROLES_MISSING,
                Some(false),
            ),
            (
                r#"not (user.roles contains any ["owner"])"#,
                ROLES_EMPTY,
                Some(true),
            ),
            (r#"user.roles contains any ["owner"]"#, ROLES_INVALID, None),
            (
                "user.lucky contains any [1, 2, 3]",
                ROLES_ADMIN_SUPPORT,
                Some(true),
            ),
            (
                "user.lucky contains any [1, 2]",
                ROLES_ADMIN_SUPPORT,
                Some(false),
            ),
            ("user.lucky contains any [1, 2]", ROLES_INVALID, None),
        ],
        NOW,
    );
}

#[test]
fn contains_all_of_a_list() {
    check(
        &[
            (
                r#"user.roles contains all ["support", "admin"]"#,
                ROLES_ADMIN_SUPPORT,
                Some(true),
            ),
            (
                r#"user.roles contains all ["admin", "admin"]"#,
                ROLES_ADMIN_SUPPORT,
                Some(true),
            ),
            (
                r#"user.roles contains all ["admin", "owner"]"#,
                ROLES_ADMIN_SUPPORT,
                Some(false),
            ),
            (
                r#"user.roles contains all ["admin"]"#,
                ROLES_EMPTY,
                Some(false),
            ),
            (
                r#"user.roles contains all ["admin"]"#,
                ROLES_MISSING,
                Some(false),
            ),
            (r#"user.roles contains all ["admin"]"#, ROLES_INVALID, None),
            (
                "user.lucky contains all [7, 3]",
                ROLES_ADMIN_SUPPORT,
                Some(true),
            ),
            (
                "user.lucky contains all [7, 3, 5]",
                ROLES_ADMIN_SUPPORT,
                Some(false),
            ),
        ],
        NOW,
    );
}

#[test]
fn tests_of_contains_any_pass_on_every_backend() {
    tests_pass(
        r#"
flag admin-console: bool {
  kind permission
  default false
  rule admins: when user.roles contains any ["admin", "owner"] => true
  rule pairs: when user.roles contains all ["support", "support-lead"] => true
}

test "an owner gets the console" {
  context {
    user { id: "u-1", roles: ["viewer", "owner"] }
  }
  expect admin-console == true
  expect admin-console rule admins
}

test "support needs both roles" {
  context {
    user { id: "u-2", roles: ["support-lead", "viewer", "support"] }
  }
  expect admin-console rule pairs
}

test "one support role is not enough" {
  context {
    user { id: "u-3", roles: ["support"] }
  }
  expect admin-console == false
  expect admin-console reason DEFAULT
}
"#,
    );
}

// ---------------------------------------------------------------- iequals / iin

const ANA_PT: &str = r#"{"user": {"id": "u", "email": "Ana@Shop.Example", "country": "pt"}}"#;
const ECOLE: &str = r#"{"user": {"id": "u", "email": "ÉCOLE@MÜNCHEN.DE", "country": "DE"}}"#;
const STRASSE: &str = r#"{"user": {"id": "u", "email": "x", "country": "STRASSE"}}"#;
const NO_COUNTRY: &str = r#"{"user": {"id": "u", "email": "x"}}"#;
const BAD_COUNTRY: &str = r#"{"user": {"id": "u", "email": "x", "country": 7}}"#;

#[test]
fn iequals_ignores_case() {
    check(
        &[
            (r#"user.country iequals "PT""#, ANA_PT, Some(true)),
            (r#"user.country == "PT""#, ANA_PT, Some(false)),
            (r#"user.country iequals "P""#, ANA_PT, Some(false)),
            (r#"user.country iequals "PTX""#, ANA_PT, Some(false)),
            (r#""PT" iequals user.country"#, ANA_PT, Some(true)),
            (
                r#"user.email iequals "ana@shop.example""#,
                ANA_PT,
                Some(true),
            ),
            // Unicode lower case on both sides.
            (
                r#"user.email iequals "école@münchen.de""#,
                ECOLE,
                Some(true),
            ),
            (
                r#"user.email iequals "École@München.DE""#,
                ECOLE,
                Some(true),
            ),
            // Lower case, not full case folding: `ß` is not `ss`.
            (r#"user.country iequals "straße""#, STRASSE, Some(false)),
            (r#"user.country iequals "strasse""#, STRASSE, Some(true)),
            // Two fields.
            ("user.email iequals user.country", ANA_PT, Some(false)),
            // Missing is unknown; a wrongly typed value is an error.
            (r#"user.country iequals "pt""#, NO_COUNTRY, Some(false)),
            (
                r#"not (user.country iequals "pt")"#,
                NO_COUNTRY,
                Some(false),
            ),
            (r#"user.country iequals "pt""#, BAD_COUNTRY, None),
        ],
        NOW,
    );
}

#[test]
fn iin_is_membership_ignoring_case() {
    check(
        &[
            (r#"user.country iin ["US", "PT"]"#, ANA_PT, Some(true)),
            (r#"user.country in ["US", "PT"]"#, ANA_PT, Some(false)),
            (r#"user.country iin ["US", "CA"]"#, ANA_PT, Some(false)),
            (r#"user.country not iin ["US", "PT"]"#, ANA_PT, Some(false)),
            (r#"user.country not iin ["US", "CA"]"#, ANA_PT, Some(true)),
            (r#"user.country iin ["Pt"]"#, ANA_PT, Some(true)),
            (r#"user.country iin ["de"]"#, ECOLE, Some(true)),
            (r#"user.country iin []"#, ANA_PT, Some(false)),
            (r#"user.country iin ["pt"]"#, NO_COUNTRY, Some(false)),
            (r#"user.country not iin ["pt"]"#, NO_COUNTRY, Some(false)),
            (r#"user.country iin []"#, NO_COUNTRY, Some(false)),
            (r#"not (user.country iin [])"#, NO_COUNTRY, Some(false)),
            (r#"user.country iin ["pt", "us"]"#, BAD_COUNTRY, None),
        ],
        NOW,
    );
}

#[test]
fn tests_of_iin_pass_on_every_backend() {
    tests_pass(
        r#"
flag north-america: bool {
  kind release
  default false
  rule na: when user.country iin ["us", "ca", "mx"] => true
  rule staff: when user.email iequals "OPS@SHOP.EXAMPLE" => true
}

test "any spelling of a country" {
  context {
    user { id: "u-1", email: "a@b.example", country: "Us" }
  }
  expect north-america rule na
}

test "the operations address in any case" {
  context {
    user { id: "u-2", email: "ops@shop.example", country: "PT" }
  }
  expect north-america rule staff
}

test "elsewhere" {
  context {
    user { id: "u-3", email: "a@b.example", country: "PT" }
  }
  expect north-america reason DEFAULT
}
"#,
    );
}

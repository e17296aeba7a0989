//! The data: overrides, the override state, audit entries and queries.
//! Times are `jiff::Timestamp`s (RFC 3339 in JSON); stores keep them as
//! microseconds since the epoch.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vexil_runtime::{OverrideAction, OverrideInfo, OverrideSpec};

/// What an override does to its flag or experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Serve the flag's default, reason `DISABLED`.
    Off,
    /// Serve this value to everyone (of the flag's type).
    Value {
        /// The value, as JSON.
        value: Value,
    },
    /// Serve this named variant to everyone.
    Variant {
        /// The variant's name.
        variant: String,
    },
    /// Serve a named rule's rollout at this percentage instead of the one
    /// in git (the same buckets: raising it only adds units).
    Rollout {
        /// The rule's name.
        rule: String,
        /// 0 to 100, at most three decimals.
        percent: f64,
    },
    /// An experiment enrols nobody: every unit gets the control, and no
    /// exposure is recorded.
    StopEnrolment,
}

impl Action {
    /// A short description for logs and summaries: `off`, `value true`,
    /// `variant blue`, `rule fast at 25%`, `enrolment stopped`.
    pub fn describe(&self) -> String {
        match self {
            Action::Off => "off".to_string(),
            Action::Value { value } => format!("value {value}"),
            Action::Variant { variant } => format!("variant {variant}"),
            Action::Rollout { rule, percent } => format!("rule {rule} at {percent}%"),
            Action::StopEnrolment => "enrolment stopped".to_string(),
        }
    }
}

/// One flag's or experiment's override.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    /// The flag or experiment it applies to.
    pub flag: String,
    /// What it does.
    pub action: Action,
    /// Who set it (the API key's name, or the person the CLI names).
    pub actor: String,
    /// Why: required, never empty.
    pub reason: String,
    /// When it was set.
    pub created_at: Timestamp,
    /// When it lifts itself, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// Every override, and the version of this state: it counts up by one with
/// each change, in every store, and never goes back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverrideState {
    /// Counts the changes to the overrides.
    pub version: u64,
    /// By flag name, in name order.
    pub overrides: Vec<Override>,
}

impl OverrideState {
    /// The override of `flag`, if any.
    pub fn get(&self, flag: &str) -> Option<&Override> {
        self.overrides.iter().find(|o| o.flag == flag)
    }

    /// Every override in the runtime's form, to lay over a snapshot.
    pub fn specs(&self) -> Vec<OverrideSpec> {
        self.overrides.iter().map(Override::spec).collect()
    }
}

impl Override {
    /// The runtime's form of this override.
    pub fn spec(&self) -> OverrideSpec {
        OverrideSpec {
            target: self.flag.clone(),
            action: match &self.action {
                Action::Off => OverrideAction::Off,
                Action::Value { value } => OverrideAction::Value(value.clone()),
                Action::Variant { variant } => OverrideAction::Variant(variant.clone()),
                Action::Rollout { rule, percent } => OverrideAction::Rollout {
                    rule: rule.clone(),
                    percent: *percent,
                },
                Action::StopEnrolment => OverrideAction::StopEnrolment,
            },
            info: OverrideInfo {
                actor: self.actor.clone(),
                reason: self.reason.clone(),
                since: self.created_at.to_string(),
            },
        }
    }
}

/// What an audit entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// An override was set or replaced.
    OverrideSet,
    /// An override was lifted by someone.
    OverrideLifted,
    /// An override reached its expiry and lifted itself.
    OverrideExpired,
    /// An override names a flag, variant or rule that the version being
    /// served does not have: it is not applied (to anything else either).
    OverrideUnapplied,
    /// A new version of the flags was swapped in.
    VersionSwapped,
    /// A new version of the flags was refused (it did not compile, its
    /// tests failed); the last good one kept serving.
    ReloadFailed,
    /// An API key was created.
    KeyCreated,
    /// An API key was revoked.
    KeyRevoked,
    /// A write was refused: no key, a key without the `admin` scope.
    WriteRefused,
    /// A staged rollout's guardrail was breached (the evidence is in
    /// `after`); its action, when it has one, follows as an override.
    GuardrailBreached,
}

impl AuditKind {
    /// The name in JSON and in the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::OverrideSet => "override_set",
            AuditKind::OverrideLifted => "override_lifted",
            AuditKind::OverrideExpired => "override_expired",
            AuditKind::OverrideUnapplied => "override_unapplied",
            AuditKind::VersionSwapped => "version_swapped",
            AuditKind::ReloadFailed => "reload_failed",
            AuditKind::KeyCreated => "key_created",
            AuditKind::KeyRevoked => "key_revoked",
            AuditKind::WriteRefused => "write_refused",
            AuditKind::GuardrailBreached => "guardrail_breached",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [AuditKind; 10] = [
        AuditKind::OverrideSet,
        AuditKind::OverrideLifted,
        AuditKind::OverrideExpired,
        AuditKind::OverrideUnapplied,
        AuditKind::VersionSwapped,
        AuditKind::ReloadFailed,
        AuditKind::KeyCreated,
        AuditKind::KeyRevoked,
        AuditKind::WriteRefused,
        AuditKind::GuardrailBreached,
    ];

    /// The kind named `text`, if any.
    pub fn parse(text: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An entry to append: everything but its id and time, which the store
/// assigns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    /// What happened.
    pub kind: AuditKind,
    /// Who: an API key's name, `system` for the server itself.
    pub actor: String,
    /// The flag concerned, if one is.
    pub flag: Option<String>,
    /// Why (an override's reason, a refusal's cause).
    pub reason: Option<String>,
    /// From where: the remote address and the key's name.
    pub origin: Option<String>,
    /// The state before, as JSON.
    pub before: Option<Value>,
    /// The state after, as JSON.
    pub after: Option<Value>,
}

impl NewEntry {
    /// An entry of `kind` by `actor`.
    pub fn new(kind: AuditKind, actor: impl Into<String>) -> NewEntry {
        NewEntry {
            kind,
            actor: actor.into(),
            flag: None,
            reason: None,
            origin: None,
            before: None,
            after: None,
        }
    }

    /// Concerning `flag`.
    pub fn flag(mut self, flag: impl Into<String>) -> NewEntry {
        self.flag = Some(flag.into());
        self
    }

    /// Because of `reason`.
    pub fn reason(mut self, reason: impl Into<String>) -> NewEntry {
        self.reason = Some(reason.into());
        self
    }

    /// From `origin`.
    pub fn origin(mut self, origin: impl Into<String>) -> NewEntry {
        self.origin = Some(origin.into());
        self
    }

    /// With these states before and after.
    pub fn change(mut self, before: Option<Value>, after: Option<Value>) -> NewEntry {
        self.before = before;
        self.after = after;
        self
    }
}

/// An API key created at run time, as stored: its secret only as a
/// SHA-256 hash, which is never serialized (lists and audit entries show
/// everything else).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Its public id (`key_…`), to revoke it by.
    pub id: String,
    /// Its name, the actor of what it does.
    pub name: String,
    /// Its scope (`client`, `server`, `admin`): the server's to interpret.
    pub scope: String,
    /// The SHA-256 of its secret, in hexadecimal.
    #[serde(skip_serializing, default)]
    pub sha256: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Who created it.
    pub created_by: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

/// One audit entry, as stored: ids count up in the order entries were
/// committed, in every store (one ordered log, across a fleet too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub id: u64,
    /// When it was recorded.
    pub at: Timestamp,
    /// What happened.
    pub kind: AuditKind,
    /// Who.
    pub actor: String,
    /// The flag concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// From where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// After.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Which entries to read; every field narrows, `None` does not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditQuery {
    /// Entries concerning this flag.
    pub flag: Option<String>,
    /// Entries by this actor.
    pub actor: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// At most this many, the oldest first (default and cap: 10,000).
    pub limit: Option<u32>,
}

/// Each flag's newest entry of the kinds that change what it serves; the
/// same text for both stores.
#[cfg_attr(not(feature = "stores"), allow(dead_code))]
pub(crate) const LAST_CHANGES_QUERY: &str = "SELECT id, at, kind, actor, flag, reason, origin, before, after FROM vexil_audit
 WHERE id IN (SELECT MAX(id) FROM vexil_audit
   WHERE flag IS NOT NULL AND kind IN ('override_set', 'override_lifted', 'override_expired', 'guardrail_breached')
   GROUP BY flag)
 ORDER BY id";

/// The most entries one query returns.
#[cfg_attr(not(feature = "stores"), allow(dead_code))]
pub const MAX_AUDIT_ROWS: u32 = 10_000;

#[cfg(feature = "stores")]
impl AuditQuery {
    pub(crate) fn row_limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(MAX_AUDIT_ROWS).min(MAX_AUDIT_ROWS))
    }
}

/// Microseconds since the epoch, as the stores keep times.
#[cfg(feature = "stores")]
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// The timestamp of `micros`; out of range (impossible for values the
/// stores wrote) reads as the epoch.
#[cfg(feature = "stores")]
pub(crate) fn from_micros(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

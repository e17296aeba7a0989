//! Both stores pass the same cases: overrides with optimistic concurrency,
//! audit entries for every change, expiry, queries, change notification
//! across instances, and an audit log the database itself keeps
//! append-only.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use vexil_control::{
    Action, AuditKind, AuditQuery, NewEntry, Override, PostgresStore, SqliteStore, Store,
    StoreError, StoredKey, UsageCount, UsageQuery, UsageReport, Write,
};

/// Where a case's store lives, so a second instance can open the same one.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Place {
    async fn new(postgres: bool) -> Place {
        if postgres {
            Place::Postgres(vexil_control::testing::fresh_database().await)
        } else {
            Place::Sqlite(tempfile::tempdir().unwrap())
        }
    }

    fn spec(&self) -> String {
        match self {
            Place::Sqlite(dir) => dir.path().join("data/vexil.db").display().to_string(),
            Place::Postgres(url) => url.clone(),
        }
    }

    async fn open(&self) -> Arc<dyn Store> {
        vexil_control::open(&self.spec()).await.unwrap()
    }

    /// Try to change the audit log behind the store's back, with SQL.
    async fn raw(&self, sql: &str) -> Result<u64, String> {
        match self {
            Place::Sqlite(_) => {
                let conn = rusqlite::Connection::open(self.spec()).map_err(|e| e.to_string())?;
                conn.execute(sql, [])
                    .map(|n| n as u64)
                    .map_err(|e| e.to_string())
            }
            Place::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client.execute(sql, &[]).await.map_err(|e| {
                    e.as_db_error()
                        .map(|d| d.message().to_string())
                        .unwrap_or(e.to_string())
                })
            }
        }
    }
}

fn off(flag: &str, actor: &str, reason: &str) -> Override {
    Override {
        flag: flag.to_string(),
        action: Action::Off,
        actor: actor.to_string(),
        reason: reason.to_string(),
        created_at: Timestamp::now(),
        expires_at: None,
    }
}

fn entry(actor: &str) -> NewEntry {
    NewEntry::new(AuditKind::OverrideSet, actor).origin("127.0.0.1 key ops")
}

async fn sets_lifts_and_audits(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let empty = store.state().await.unwrap();
    assert_eq!(empty.version, 0);
    assert!(empty.overrides.is_empty());

    let o = off("payments", "alice", "acquirer double-charges");
    let state = store
        .write(
            Some(0),
            Write::Set(o.clone()),
            entry("alice").reason(&o.reason),
        )
        .await
        .unwrap();
    assert_eq!(state.version, 1);
    assert_eq!(state.get("payments").map(|o| &o.action), Some(&Action::Off));

    let forced = Override {
        action: Action::Variant {
            variant: "blue".into(),
        },
        ..off("payments", "bob", "hold blue")
    };
    let state = store
        .write(
            Some(1),
            Write::Set(forced),
            entry("bob").reason("hold blue"),
        )
        .await
        .unwrap();
    assert_eq!(state.version, 2);
    let lifted = store
        .write(
            Some(2),
            Write::Lift("payments".into()),
            NewEntry::new(AuditKind::OverrideLifted, "carol").reason("fixed"),
        )
        .await
        .unwrap();
    assert_eq!(lifted.version, 3);
    assert!(lifted.overrides.is_empty());

    let log = store.audit(&AuditQuery::default()).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::OverrideSet,
            AuditKind::OverrideSet,
            AuditKind::OverrideLifted
        ]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(log[0].actor, "alice");
    assert_eq!(log[0].reason.as_deref(), Some("acquirer double-charges"));
    assert_eq!(log[0].origin.as_deref(), Some("127.0.0.1 key ops"));
    assert_eq!(log[0].before, None);
    assert_eq!(log[0].after.as_ref().unwrap()["action"]["kind"], "off");
    assert_eq!(log[1].before.as_ref().unwrap()["action"]["kind"], "off");
    assert_eq!(log[1].after.as_ref().unwrap()["action"]["variant"], "blue");
    assert_eq!(log[2].flag.as_deref(), Some("payments"));
    assert_eq!(log[2].before.as_ref().unwrap()["actor"], "bob");
    assert_eq!(log[2].after, None);

    // Lifting what is not there is an error, and changes nothing.
    let err = store
        .write(
            None,
            Write::Lift("payments".into()),
            NewEntry::new(AuditKind::OverrideLifted, "carol"),
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NoOverride("payments".into()));
    assert_eq!(store.state().await.unwrap().version, 3);
    assert_eq!(store.audit(&AuditQuery::default()).await.unwrap().len(), 3);

    // Durable: a new instance reads the same state and log.
    drop(store);
    let again = place.open().await;
    assert_eq!(again.state().await.unwrap().version, 3);
    assert_eq!(again.audit(&AuditQuery::default()).await.unwrap().len(), 3);
}

async fn a_stale_write_is_refused_and_stores_nothing(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    store
        .write(Some(0), Write::Set(off("a", "x", "r")), entry("x"))
        .await
        .unwrap();
    let err = store
        .write(Some(0), Write::Set(off("b", "y", "r")), entry("y"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Stale {
            expected: 0,
            current: 1
        }
    );
    let state = store.state().await.unwrap();
    assert_eq!(state.version, 1);
    assert!(state.get("b").is_none());
    assert_eq!(store.audit(&AuditQuery::default()).await.unwrap().len(), 1);

    // Two instances racing on the same version: exactly one wins.
    let other = place.open().await;
    let (one, two) = tokio::join!(
        store.write(Some(1), Write::Set(off("c", "x", "r")), entry("x")),
        other.write(Some(1), Write::Set(off("d", "y", "r")), entry("y")),
    );
    let won = [one.is_ok(), two.is_ok()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{one:?} {two:?}");
    let lost = if one.is_ok() { two } else { one };
    assert!(matches!(
        lost,
        Err(StoreError::Stale {
            expected: 1,
            current: 2
        })
    ));
    assert_eq!(store.state().await.unwrap().version, 2);
}

async fn expired_overrides_lift_themselves_once(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let now = Timestamp::now();
    let soon = Override {
        expires_at: Some(now + SignedDuration::from_secs(60)),
        ..off("soon", "alice", "until the fix deploys")
    };
    let later = Override {
        expires_at: Some(now + SignedDuration::from_secs(3600)),
        ..off("later", "alice", "an hour")
    };
    store
        .write(None, Write::Set(soon), entry("alice"))
        .await
        .unwrap();
    store
        .write(None, Write::Set(later), entry("alice"))
        .await
        .unwrap();
    assert!(store.expire(now).await.unwrap().is_empty());
    let at = now + SignedDuration::from_secs(61);
    let other = place.open().await;
    let (a, b) = tokio::join!(store.expire(at), other.expire(at));
    let lifted: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(lifted.len(), 1, "lifted once, by one instance: {lifted:?}");
    assert_eq!(lifted[0].flag, "soon");
    let state = store.state().await.unwrap();
    assert_eq!(state.version, 3);
    assert_eq!(state.overrides.len(), 1);
    let expired = store
        .audit(&AuditQuery {
            flag: Some("soon".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(expired.len(), 2);
    assert_eq!(expired[1].kind, AuditKind::OverrideExpired);
    assert_eq!(expired[1].actor, "system");
    assert!(expired[1].before.is_some());
}

async fn the_audit_log_is_queried_by_flag_actor_and_time(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    store
        .write(None, Write::Set(off("a", "alice", "r")), entry("alice"))
        .await
        .unwrap();
    let middle = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .write(None, Write::Set(off("b", "bob", "r")), entry("bob"))
        .await
        .unwrap();
    store
        .append(
            NewEntry::new(AuditKind::VersionSwapped, "system")
                .reason("3 flags changed")
                .change(None, Some(serde_json::json!({"added": ["c"]}))),
        )
        .await
        .unwrap();
    let q = |flag: Option<&str>, actor: Option<&str>, since, until| AuditQuery {
        flag: flag.map(str::to_string),
        actor: actor.map(str::to_string),
        since,
        until,
        limit: None,
    };
    let all = store.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].kind, AuditKind::VersionSwapped);
    assert_eq!(all[2].after.as_ref().unwrap()["added"][0], "c");
    let by_flag = store.audit(&q(Some("a"), None, None, None)).await.unwrap();
    assert_eq!(by_flag.len(), 1);
    assert_eq!(by_flag[0].actor, "alice");
    let by_actor = store
        .audit(&q(None, Some("bob"), None, None))
        .await
        .unwrap();
    assert_eq!(by_actor.len(), 1);
    assert_eq!(by_actor[0].flag.as_deref(), Some("b"));
    let since = store
        .audit(&q(None, None, Some(middle), None))
        .await
        .unwrap();
    assert_eq!(since.len(), 2);
    let until = store
        .audit(&q(None, None, None, Some(middle)))
        .await
        .unwrap();
    assert_eq!(until.len(), 1);
    let limited = store
        .audit(&AuditQuery {
            limit: Some(2),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
}

async fn the_database_refuses_to_alter_the_audit_log(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    store
        .write(None, Write::Set(off("a", "alice", "r")), entry("alice"))
        .await
        .unwrap();
    for sql in [
        "UPDATE vexil_audit SET actor = 'mallory'",
        "DELETE FROM vexil_audit",
    ] {
        let err = place.raw(sql).await.unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if postgres {
        let err = place.raw("TRUNCATE vexil_audit").await.unwrap_err();
        assert!(err.contains("append-only"), "{err}");
    }
    let log = store.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].actor, "alice");
}

async fn another_instance_hears_of_a_change(postgres: bool) {
    let place = Place::new(postgres).await;
    let writer = place.open().await;
    let reader = place.open().await;
    let mut changes = reader.changes();
    assert_eq!(*changes.borrow_and_update(), 0);
    writer
        .write(None, Write::Set(off("a", "alice", "r")), entry("alice"))
        .await
        .unwrap();
    // A hang guard, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), changes.wait_for(|v| *v >= 1))
        .await
        .expect("the change is announced")
        .unwrap();
    assert_eq!(
        reader.state().await.unwrap().get("a").unwrap().actor,
        "alice"
    );
}

async fn migrations_apply_once(postgres: bool) {
    let place = Place::new(postgres).await;
    let (a, b) = tokio::join!(place.open(), place.open());
    a.write(None, Write::Set(off("a", "x", "r")), entry("x"))
        .await
        .unwrap();
    drop((a, b));
    let c = place.open().await;
    assert_eq!(c.state().await.unwrap().version, 1);
    // Touches each recorded migration: the count is how many there are.
    let n = place
        .raw("UPDATE vexil_migrations SET applied_at = applied_at")
        .await
        .unwrap();
    assert_eq!(n, 7, "seven migrations recorded");
}

async fn keys_are_created_listed_and_revoked_with_audit(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let key = StoredKey {
        id: "key_1".into(),
        name: "deploy-bot".into(),
        scope: "server".into(),
        sha256: "ab".repeat(32),
        created_at: Timestamp::now(),
        created_by: "ops".into(),
        revoked_at: None,
        revoked_by: None,
    };
    store
        .create_key(
            key.clone(),
            NewEntry::new(AuditKind::KeyCreated, "ops").reason("for deploys"),
        )
        .await
        .unwrap();
    // The same hash twice is refused, and stores nothing.
    let twin = StoredKey {
        id: "key_2".into(),
        ..key.clone()
    };
    assert!(store
        .create_key(twin, NewEntry::new(AuditKind::KeyCreated, "ops"))
        .await
        .is_err());
    // Another process sees it, hash included (to authenticate with).
    let other = place.open().await;
    let keys = other.keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].sha256, key.sha256);
    assert_eq!(keys[0].revoked_at, None);
    // Serialized (lists, audit), the hash is left out.
    assert!(!serde_json::to_string(&keys[0])
        .unwrap()
        .contains(&key.sha256));

    let revoked = other
        .revoke_key(
            "key_1",
            Timestamp::now(),
            "alice",
            NewEntry::new(AuditKind::KeyRevoked, "alice"),
        )
        .await
        .unwrap();
    assert_eq!(revoked.revoked_by.as_deref(), Some("alice"));
    assert!(store.keys().await.unwrap()[0].revoked_at.is_some());
    // Twice, or a key that does not exist: NoKey, nothing audited.
    for id in ["key_1", "key_9"] {
        assert!(matches!(
            store
                .revoke_key(
                    id,
                    Timestamp::now(),
                    "alice",
                    NewEntry::new(AuditKind::KeyRevoked, "alice")
                )
                .await,
            Err(StoreError::NoKey(_))
        ));
    }
    let kinds: Vec<AuditKind> = store
        .audit(&AuditQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [AuditKind::KeyCreated, AuditKind::KeyRevoked]);
}

async fn webhook_positions_resume_and_move_once(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    store.append(entry("before")).await.unwrap();
    // A hook seen for the first time starts at the end of the log.
    let start = store.hook_position("ops").await.unwrap();
    assert_eq!(start, 1);
    assert!(store.audit_after(start, 10).await.unwrap().is_empty());
    for actor in ["a", "b", "c"] {
        store.append(entry(actor)).await.unwrap();
    }
    let pending = store.audit_after(start, 2).await.unwrap();
    let actors: Vec<_> = pending.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(actors, ["a", "b"]);
    let to = pending.last().unwrap().id;
    assert!(store.advance_hook("ops", start, to).await.unwrap());
    // Moved already: a second server holding the old position does not.
    assert!(!store.advance_hook("ops", start, to).await.unwrap());
    // Another process (a restart) resumes where it was left.
    drop(store);
    let again = place.open().await;
    assert_eq!(again.hook_position("ops").await.unwrap(), to);
    let rest = again.audit_after(to, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].actor, "c");
    // Each hook has its own position.
    assert_eq!(again.hook_position("other").await.unwrap(), rest[0].id);
}

fn count(hour: Timestamp, flag: &str, variant: &str, reason: &str, n: u64) -> UsageCount {
    UsageCount {
        hour,
        flag: flag.to_string(),
        variant: variant.to_string(),
        reason: reason.to_string(),
        rule: if reason == "TARGETING_MATCH" {
            "#1".to_string()
        } else {
            String::new()
        },
        error: String::new(),
        count: n,
    }
}

async fn usage_deltas_add_up_and_retention_deletes_old_hours(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let h = |hours: i64| {
        "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    };
    // Nothing recorded yet: no history.
    assert_eq!(
        store.usage(&UsageQuery::default()).await.unwrap(),
        UsageReport::default()
    );
    assert_eq!(store.begin_usage(h(0)).await.unwrap(), h(0));
    // A later server keeps the earlier start.
    assert_eq!(store.begin_usage(h(5)).await.unwrap(), h(0));

    // Two servers sharing the store add their deltas (one mid-hour: its
    // bucket is the hour's start); equal keys in one batch are summed.
    let mid = h(1) + SignedDuration::from_mins(17);
    store
        .add_usage(
            vec![
                count(mid, "banner", "on", "TARGETING_MATCH", 3),
                count(h(1), "banner", "off", "DEFAULT", 2),
                count(h(1), "banner", "off", "DEFAULT", 1),
                count(h(2), "checkout", "", "STATIC", 7),
            ],
            h(2) + SignedDuration::from_mins(1),
        )
        .await
        .unwrap();
    let other = place.open().await;
    other
        .add_usage(
            vec![
                count(h(1), "banner", "on", "TARGETING_MATCH", 4),
                UsageCount {
                    error: "TARGETING_KEY_MISSING".to_string(),
                    ..count(h(3), "banner", "", "ERROR", 1)
                },
            ],
            h(3) + SignedDuration::from_mins(2),
        )
        .await
        .unwrap();
    // An earlier flush arriving late does not move a last evaluation back.
    store
        .add_usage(vec![count(h(1), "checkout", "", "STATIC", 1)], h(1))
        .await
        .unwrap();

    let all = store.usage(&UsageQuery::default()).await.unwrap();
    let rows: Vec<(Timestamp, &str, &str, &str, &str, &str, u64)> = all
        .counts
        .iter()
        .map(|c| {
            (
                c.hour,
                &*c.flag,
                &*c.variant,
                &*c.reason,
                &*c.rule,
                &*c.error,
                c.count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (h(1), "banner", "off", "DEFAULT", "", "", 3),
            (h(1), "banner", "on", "TARGETING_MATCH", "#1", "", 7),
            (h(1), "checkout", "", "STATIC", "", "", 1),
            (h(2), "checkout", "", "STATIC", "", "", 7),
            (h(3), "banner", "", "ERROR", "", "TARGETING_KEY_MISSING", 1),
        ]
    );
    assert_eq!(
        all.last_evaluated,
        [
            ("banner".to_string(), h(3) + SignedDuration::from_mins(2)),
            ("checkout".to_string(), h(2) + SignedDuration::from_mins(1)),
        ]
    );
    assert_eq!(all.history_starts, Some(h(0)));

    // By time range (since rounds down to its hour; until is exclusive)
    // and by flag.
    let ranged = store
        .usage(&UsageQuery {
            since: Some(h(1) + SignedDuration::from_mins(30)),
            until: Some(h(3)),
            flag: Some("checkout".to_string()),
            totals_only: false,
        })
        .await
        .unwrap();
    let hours: Vec<(Timestamp, u64)> = ranged.counts.iter().map(|c| (c.hour, c.count)).collect();
    assert_eq!(hours, [(h(1), 1), (h(2), 7)]);
    assert_eq!(ranged.last_evaluated.len(), 1);
    assert_eq!(ranged.last_evaluated[0].0, "checkout");

    // Each flag's sum over a window, without its rows.
    let totals = store
        .usage(&UsageQuery {
            since: Some(h(1)),
            totals_only: true,
            ..UsageQuery::default()
        })
        .await
        .unwrap();
    let sums: Vec<(&str, u64)> = totals.counts.iter().map(|c| (&*c.flag, c.count)).collect();
    assert_eq!(sums, [("banner", 11), ("checkout", 8)]);
    assert_eq!(totals.last_evaluated.len(), 2);

    // Retention: hours before the cut go, the history starts at the cut,
    // last evaluations stay.
    assert_eq!(store.prune_usage(h(2)).await.unwrap(), 3);
    let kept = other.usage(&UsageQuery::default()).await.unwrap();
    let hours: Vec<Timestamp> = kept.counts.iter().map(|c| c.hour).collect();
    assert_eq!(hours, [h(2), h(3)]);
    assert_eq!(kept.history_starts, Some(h(2)));
    assert_eq!(kept.last_evaluated.len(), 2);
    // A cut before the history's start does not move it back.
    assert_eq!(store.prune_usage(h(1)).await.unwrap(), 0);
    assert_eq!(store.begin_usage(h(9)).await.unwrap(), h(2));
}

/// Each flag's sum from `since` on, from every bucket (the query that
/// reads each hour's rows: bounded above, it does not use the window).
async fn summed(store: &dyn Store, since: Timestamp, flag: Option<&str>) -> Vec<(String, u64)> {
    let far = "2100-01-01T00:00:00Z".parse::<Timestamp>().unwrap();
    let report = store
        .usage(&UsageQuery {
            since: Some(since),
            until: Some(far),
            flag: flag.map(str::to_string),
            totals_only: false,
        })
        .await
        .unwrap();
    let mut sums: std::collections::BTreeMap<String, u64> = Default::default();
    for c in report.counts {
        *sums.entry(c.flag).or_default() += c.count;
    }
    sums.into_iter().collect()
}

/// Each flag's sum from `since` on, as the list of flags reads it (from
/// the window's sums).
async fn windowed(store: &dyn Store, since: Timestamp, flag: Option<&str>) -> Vec<(String, u64)> {
    let report = store
        .usage(&UsageQuery {
            since: Some(since),
            flag: flag.map(str::to_string),
            totals_only: true,
            ..UsageQuery::default()
        })
        .await
        .unwrap();
    assert!(report
        .counts
        .iter()
        .all(|c| c.hour == vexil_control::hour_of(since)));
    report
        .counts
        .into_iter()
        .map(|c| (c.flag, c.count))
        .collect()
}

async fn the_windows_sums_are_the_buckets_sums(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let h = |hours: i64| {
        "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    };
    let check = async |store: &dyn Store, hours: &[i64]| {
        for &at in hours {
            for flag in [None, Some("a"), Some("b"), Some("none")] {
                let since = h(at) + SignedDuration::from_mins(20);
                assert_eq!(
                    windowed(store, since, flag).await,
                    summed(store, since, flag).await,
                    "from hour {at}, flag {flag:?}"
                );
            }
        }
    };
    // Two days of flushes, each hour's deltas written in that hour (the
    // window's start follows the writer, 24 hours back), by two servers.
    let other = place.open().await;
    for hour in 0..48 {
        let writer = if hour % 2 == 0 { &store } else { &other };
        let mut counts = vec![count(
            h(hour),
            "a",
            "on",
            "TARGETING_MATCH",
            1 + hour as u64,
        )];
        if hour % 5 == 0 {
            counts.push(count(h(hour), "b", "", "STATIC", 100));
        }
        writer
            .add_usage(counts, h(hour) + SignedDuration::from_mins(7))
            .await
            .unwrap();
    }
    check(&*store, &[-3, 0, 10, 23, 24, 25, 30, 47, 48, 60]).await;
    // Deltas kept while the store was away arrive late: one inside the
    // window, one before it.
    store
        .add_usage(
            vec![
                count(h(40), "b", "", "STATIC", 9),
                count(h(3), "b", "", "STATIC", 4),
            ],
            h(47) + SignedDuration::from_mins(30),
        )
        .await
        .unwrap();
    // An earlier writer's clock does not move the window back.
    other
        .add_usage(vec![count(h(20), "a", "", "DEFAULT", 2)], h(20))
        .await
        .unwrap();
    check(&*store, &[0, 3, 20, 23, 24, 40, 41, 47]).await;
    // Retention past the window's start: the window moves with it.
    store.prune_usage(h(30)).await.unwrap();
    check(&*other, &[0, 29, 30, 31, 47]).await;
    // A day later with no writes in between: the whole window is old.
    check(&*store, &[72]).await;
    store
        .add_usage(vec![count(h(80), "b", "", "STATIC", 1)], h(80))
        .await
        .unwrap();
    check(&*store, &[30, 47, 56, 57, 80]).await;
}

async fn the_window_is_backfilled_by_its_migration(postgres: bool) {
    let place = Place::new(postgres).await;
    let h = |hours: i64| {
        "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    };
    // A store of version 5 (the window's tables and their migration
    // undone) holding two days of buckets.
    {
        let store = place.open().await;
        for hour in 0..48 {
            store
                .add_usage(
                    vec![count(
                        h(hour),
                        "a",
                        "on",
                        "TARGETING_MATCH",
                        1 + hour as u64,
                    )],
                    h(hour),
                )
                .await
                .unwrap();
        }
    }
    for sql in [
        "DROP TABLE vexil_usage_window",
        "DROP TABLE vexil_usage_window_start",
        "DELETE FROM vexil_migrations WHERE version >= 6",
    ] {
        place.raw(sql).await.unwrap();
    }
    let store = place.open().await;
    for at in [0, 23, 24, 30, 47] {
        let since = h(at);
        assert_eq!(
            windowed(&*store, since, None).await,
            summed(&*store, since, None).await
        );
    }
}

async fn each_flags_last_change_is_its_newest_override_entry(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    assert!(store.last_changes().await.unwrap().is_empty());
    store
        .write(None, Write::Set(off("a", "alice", "first")), entry("alice"))
        .await
        .unwrap();
    store
        .write(None, Write::Set(off("b", "bob", "b off")), entry("bob"))
        .await
        .unwrap();
    store
        .write(
            None,
            Write::Lift("a".into()),
            NewEntry::new(AuditKind::OverrideLifted, "carol").reason("back on"),
        )
        .await
        .unwrap();
    // Entries that change nothing served do not count.
    store
        .append(NewEntry::new(AuditKind::WriteRefused, "mallory").flag("a"))
        .await
        .unwrap();
    let last = store.last_changes().await.unwrap();
    let seen: Vec<(&str, &str, &str)> = last
        .iter()
        .map(|e| {
            (
                e.flag.as_deref().unwrap(),
                e.kind.as_str(),
                e.actor.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("b", "override_set", "bob"),
            ("a", "override_lifted", "carol")
        ]
    );
}

async fn sessions_are_found_by_digest_until_they_expire_or_close(postgres: bool) {
    let place = Place::new(postgres).await;
    let store = place.open().await;
    let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let session = |digest: &str, ends: i64| vexil_control::StoredSession {
        digest: digest.into(),
        name: "oncall".into(),
        scope: "admin".into(),
        csrf: format!("csrf-{digest}"),
        expires_at: t(ends),
    };
    store.open_session(session("aa", 100), t(0)).await.unwrap();
    store.open_session(session("bb", 50), t(0)).await.unwrap();
    assert_eq!(
        store.session("aa", t(10)).await.unwrap(),
        Some(session("aa", 100))
    );
    assert_eq!(store.session("cc", t(10)).await.unwrap(), None);
    // Another server on the same store finds it too.
    let other = place.open().await;
    assert_eq!(
        other.session("bb", t(10)).await.unwrap(),
        Some(session("bb", 50))
    );
    // Expired: not found, and deleted when the next session opens.
    assert_eq!(store.session("bb", t(50)).await.unwrap(), None);
    store.open_session(session("dd", 200), t(60)).await.unwrap();
    assert_eq!(
        place
            .raw("UPDATE vexil_sessions SET name = name")
            .await
            .unwrap(),
        2,
        "aa and dd are left"
    );
    // Signing out ends it everywhere.
    assert!(other.close_session("aa").await.unwrap());
    assert_eq!(store.session("aa", t(10)).await.unwrap(), None);
    assert!(!store.close_session("aa").await.unwrap());
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(false).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(true).await
                }
            )*
        }
    };
}

on_both!(
    sets_lifts_and_audits,
    a_stale_write_is_refused_and_stores_nothing,
    expired_overrides_lift_themselves_once,
    the_audit_log_is_queried_by_flag_actor_and_time,
    the_database_refuses_to_alter_the_audit_log,
    another_instance_hears_of_a_change,
    migrations_apply_once,
    webhook_positions_resume_and_move_once,
    keys_are_created_listed_and_revoked_with_audit,
    usage_deltas_add_up_and_retention_deletes_old_hours,
    the_windows_sums_are_the_buckets_sums,
    the_window_is_backfilled_by_its_migration,
    sessions_are_found_by_digest_until_they_expire_or_close,
    each_flags_last_change_is_its_newest_override_entry,
);

#[test]
fn the_stores_are_the_public_types() {
    // Both concrete stores are usable by name (the server picks by URL).
    fn is_store<S: Store>() {}
    is_store::<SqliteStore>();
    is_store::<PostgresStore>();
}

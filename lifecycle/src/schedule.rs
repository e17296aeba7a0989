//! The release schedule: every time-based change the flags declare, in time
//! order. A rule starts or stops matching (`from`, `until`, and any `now`
//! comparison its condition makes at the top level), each stage of a staged
//! rollout starts, experiments start and end, flags expire. It is read from
//! the linked bundle, so it is what the runtime will do, never a second
//! account of it.

use serde::Serialize;

use vexil_ir::bucket::buckets_to_percent;
use vexil_ir::value::format_timestamp;
use vexil_ir::{Bundle, CompareOp, Const, Expr, Metadata, Operand, RuleResult};

/// One change at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// When it happens, RFC 3339 in UTC.
    pub time: String,
    /// When it happens, in microseconds since the Unix epoch.
    #[serde(skip)]
    pub at: i64,
    /// `flag` or `experiment`.
    pub item: &'static str,
    /// The flag's or experiment's name.
    pub name: String,
    /// The rule it concerns, by name or as `rule N` (from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What happens.
    #[serde(flatten)]
    pub kind: ChangeKind,
    /// What happens, as a sentence for people.
    pub summary: String,
    /// The file that declares the item, as the project names it.
    pub file: String,
    /// The line of the item's declaration, from 1.
    pub line: u32,
}

/// What kind of change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A rule starts matching (`from`, or `when now >= T`).
    RuleStarts,
    /// A rule stops matching (`until`, or `when now < T`).
    RuleEnds,
    /// A stage of a staged rollout starts.
    Stage {
        /// Its number, from 1.
        stage: usize,
        /// How many stages the rollout has.
        of: usize,
        /// The share it serves, like `5%`.
        percent: String,
    },
    /// An experiment starts enrolling.
    ExperimentStarts,
    /// An experiment stops enrolling.
    ExperimentEnds,
    /// A flag's `expires` date: after it the checker calls it stale.
    Expires,
}

/// Every time-based change of the bundle, by time; changes at the same
/// moment keep the bundle's order (flags, then experiments; rules in order).
pub fn schedule(bundle: &Bundle) -> Vec<Change> {
    let mut out = Vec::new();
    for flag in &bundle.flags {
        let at = |at: i64, rule: Option<String>, kind: ChangeKind, summary: String| Change {
            time: format_timestamp(at),
            at,
            item: "flag",
            name: flag.name.clone(),
            rule,
            kind,
            summary,
            file: file(&flag.meta),
            line: line(&flag.meta),
        };
        for (index, rule) in flag.rules.iter().enumerate() {
            let label = match &rule.name {
                Some(n) => format!("rule `{n}`"),
                None => format!("rule {}", index + 1),
            };
            let stages = match &rule.result {
                RuleResult::Staged { stages, .. } => stages.as_slice(),
                _ => &[],
            };
            for (bound, time) in time_bounds(&rule.condition) {
                match bound {
                    // A staged rule's `from` is its first stage's start,
                    // listed below as that stage.
                    Bound::Starts if stages.first().is_some_and(|s| s.starts == time) => {}
                    Bound::Starts => out.push(at(
                        time,
                        Some(label.clone()),
                        ChangeKind::RuleStarts,
                        format!("{label} starts matching"),
                    )),
                    Bound::Ends => out.push(at(
                        time,
                        Some(label.clone()),
                        ChangeKind::RuleEnds,
                        format!("{label} stops matching"),
                    )),
                }
            }
            for (i, stage) in stages.iter().enumerate() {
                let percent = buckets_to_percent(stage.buckets);
                out.push(at(
                    stage.starts,
                    Some(label.clone()),
                    ChangeKind::Stage {
                        stage: i + 1,
                        of: stages.len(),
                        percent: percent.clone(),
                    },
                    format!("{label} stage {} of {}: {percent}", i + 1, stages.len()),
                ));
            }
        }
        if let Some(expires) = flag.meta.expires {
            out.push(at(expires, None, ChangeKind::Expires, "expires".into()));
        }
    }
    for e in &bundle.experiments {
        let at = |at: i64, kind: ChangeKind, summary: &str| Change {
            time: format_timestamp(at),
            at,
            item: "experiment",
            name: e.name.clone(),
            rule: None,
            kind,
            summary: summary.into(),
            file: file(&e.meta),
            line: line(&e.meta),
        };
        if let Some(start) = e.start {
            out.push(at(start, ChangeKind::ExperimentStarts, "experiment starts"));
        }
        if let Some(end) = e.end {
            out.push(at(end, ChangeKind::ExperimentEnds, "experiment ends"));
        }
    }
    out.sort_by_key(|c| c.at);
    out
}

fn file(meta: &Metadata) -> String {
    meta.location
        .as_ref()
        .map_or_else(String::new, |l| l.file.clone())
}

fn line(meta: &Metadata) -> u32 {
    meta.location.as_ref().map_or(0, |l| l.line)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Starts,
    Ends,
}

/// The moments at which a condition's top-level `now` comparisons change:
/// `now >= T` (a rule's `from`) starts it, `now < T` (its `until`) ends it.
/// Comparisons under `or` or `not` are not a window of the whole rule and
/// are left out.
fn time_bounds(condition: &Expr) -> Vec<(Bound, i64)> {
    let parts = match condition {
        Expr::And(parts) => parts.as_slice(),
        single => std::slice::from_ref(single),
    };
    parts.iter().filter_map(bound).collect()
}

fn bound(e: &Expr) -> Option<(Bound, i64)> {
    let Expr::Compare { lhs, op, rhs } = e else {
        return None;
    };
    // `T <= now` is `now >= T`.
    let (now, op, time) = match (lhs, rhs) {
        (n, Operand::Const(Const::Timestamp(t))) if n.is_now() => (n, *op, *t),
        (Operand::Const(Const::Timestamp(t)), n) if n.is_now() => (n, flip(*op)?, *t),
        _ => return None,
    };
    // `now + d >= T` is `now >= T - d`.
    let time = match now {
        Operand::NowOffset(d) => time.saturating_sub(*d),
        _ => time,
    };
    match op {
        CompareOp::Ge | CompareOp::Gt => Some((Bound::Starts, time)),
        CompareOp::Lt | CompareOp::Le => Some((Bound::Ends, time)),
        _ => None,
    }
}

fn flip(op: CompareOp) -> Option<CompareOp> {
    Some(match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        _ => return None,
    })
}

/// The schedule as rows for [`crate::report::table`] and the other text
/// formats.
pub fn rows(changes: &[Change]) -> (&'static [&'static str], Vec<Vec<String>>) {
    const HEADER: [&str; 5] = ["time", "item", "name", "change", "file"];
    let rows = changes
        .iter()
        .map(|c| {
            vec![
                c.time.clone(),
                c.item.to_string(),
                c.name.clone(),
                c.summary.clone(),
                format!("{}:{}", c.file, c.line),
            ]
        })
        .collect();
    (&HEADER, rows)
}

/// The schedule as an iCalendar file (RFC 5545) a team can subscribe to:
/// one event per change, at its moment (no end: a moment, not a span).
/// Each event's `UID` names what changes, not when, so a calendar that
/// reloads the file moves an event whose time changed; `stamp` (microseconds since the epoch) is every event's
/// `DTSTAMP`, when the file was made.
pub fn ics(changes: &[Change], stamp: i64) -> String {
    use icalendar::{Calendar, Component, Event};
    let mut calendar = Calendar::new();
    calendar.name("Vexil release schedule");
    for c in changes {
        let subject = match &c.rule {
            Some(_) => format!("{}: {}", c.name, c.summary),
            None => format!("{} {}: {}", c.item, c.name, c.summary),
        };
        let event = Event::new()
            .uid(&uid(c))
            .add_property("DTSTAMP", ics_time(stamp))
            .add_property("DTSTART", ics_time(c.at))
            .summary(&subject)
            .description(&format!("{} ({}:{})", c.summary, c.file, c.line))
            .done();
        calendar.push(event);
    }
    calendar.done().to_string()
}

/// `20261210T090000Z`: iCalendar's UTC form.
fn ics_time(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// Stable across runs: the item, the rule, what changes and when.
fn uid(c: &Change) -> String {
    let what = match &c.kind {
        ChangeKind::RuleStarts => "starts".to_string(),
        ChangeKind::RuleEnds => "ends".to_string(),
        ChangeKind::Stage { stage, .. } => format!("stage-{stage}"),
        ChangeKind::ExperimentStarts => "start".to_string(),
        ChangeKind::ExperimentEnds => "end".to_string(),
        ChangeKind::Expires => "expires".to_string(),
    };
    let rule = c
        .rule
        .as_deref()
        .map(|r| r.replace(['`', ' '], ""))
        .unwrap_or_default();
    format!("{}-{}-{rule}-{what}@vexil", c.item, c.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexil_compiler::Project;

    const RAMP: &str = "\
context user {
  key id: string
}

flag search-v2: bool {
  kind release
  expires 2027-03-01
  default false
  rule ramp: from 2026-12-10T09:00:00Z => 1% for 1h, 5% for 1d, 100% by user.id
  rule until 2026-12-20 when now + 1d >= 2026-12-12 => true
}

experiment layout: string {
  unit user.id
  start 2026-12-01
  end 2027-01-15
  variants {
    a = \"a\"
    b = \"b\"
  }
  control a
}
";

    fn bundle_of(source: &str) -> vexil_ir::ValidBundle {
        let mut project = Project::new();
        project.set_source("ramp.flag", source.to_string());
        match project.bundle(false) {
            Ok(b) => b,
            Err(d) => panic!("{}", project.render(&d, false)),
        }
    }

    #[test]
    fn every_stage_window_and_date_in_time_order() {
        let changes = schedule(&bundle_of(RAMP));
        let (header, rows) = rows(&changes);
        insta::assert_snapshot!(crate::report::table(header, &rows));
        let times: Vec<i64> = changes.iter().map(|c| c.at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    #[test]
    fn stages_given_by_their_end_times_are_listed_at_those_times() {
        let by_end = RAMP.replace(
            "1% for 1h, 5% for 1d, 100%",
            "1% until 2026-12-10T10:00:00Z, 5% until 2026-12-11T10:00:00Z, 100%",
        );
        assert_ne!(by_end, RAMP);
        assert_eq!(schedule(&bundle_of(&by_end)), schedule(&bundle_of(RAMP)));
    }

    #[test]
    fn the_shop_schedule() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/shop");
        let project = Project::from_dir(&dir).expect("the shop loads");
        let bundle = project.bundle(false).expect("the shop compiles");
        let mut changes = schedule(&bundle);
        for c in &mut changes {
            c.file = c.file.rsplit('/').next().unwrap_or_default().to_string();
        }
        let (header, rows) = rows(&changes);
        insta::assert_snapshot!(crate::report::table(header, &rows));
        insta::assert_snapshot!(serde_json::to_string_pretty(&changes[..3]).expect("JSON"));
    }

    #[test]
    fn the_ics_file_parses_with_every_change() {
        let changes = schedule(&bundle_of(RAMP));
        let text = ics(&changes, 1_765_000_000_000_000);
        let mut calendars = ical::IcalParser::new(text.as_bytes());
        let calendar = calendars
            .next()
            .expect("one calendar")
            .expect("it parses as iCalendar");
        assert!(calendars.next().is_none(), "one calendar only");
        assert_eq!(calendar.events.len(), changes.len());
        let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
            e.properties
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.value.clone())
                .unwrap_or_else(|| panic!("{name} in {e:?}"))
        };
        let starts: Vec<String> = calendar.events.iter().map(|e| prop(e, "DTSTART")).collect();
        let expected: Vec<String> = changes.iter().map(|c| ics_time(c.at)).collect();
        assert_eq!(starts, expected);
        let second_stage = &calendar.events[changes
            .iter()
            .position(|c| matches!(c.kind, ChangeKind::Stage { stage: 2, .. }))
            .expect("stage 2")];
        assert_eq!(prop(second_stage, "DTSTART"), "20261210T100000Z");
        assert_eq!(
            prop(second_stage, "SUMMARY"),
            "search-v2: rule `ramp` stage 2 of 3: 5%"
        );
        let uids: std::collections::HashSet<String> =
            calendar.events.iter().map(|e| prop(e, "UID")).collect();
        assert_eq!(uids.len(), changes.len(), "UIDs are unique");
        for e in &calendar.events {
            assert_eq!(prop(e, "DTSTAMP"), "20251206T054640Z");
        }
    }
}

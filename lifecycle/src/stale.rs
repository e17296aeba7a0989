//! Stale flags, each with the evidence and a suggested clean-up: past its
//! `expires` date, serving one value to everyone for a number of days,
//! an experiment past its `end`, past the maximum lifetime of its kind,
//! (given the code's references) never referenced, and (given a server's
//! usage) never evaluated.

use serde::Serialize;
use vexil_compiler::Conventions;
use vexil_ir::{Bundle, FlagKind};

use crate::inventory::{days_between, Entry};
use crate::launched::{constant_value, Constant};
use crate::usage::{Usage, Verdict};
use crate::{date, DAY};

/// How many days a flag serving one value to everyone waits before it is
/// stale, unless asked otherwise (`vexil stale --launched-days`).
pub const LAUNCHED_DAYS: i64 = 7;

/// What the stale report is asked.
#[derive(Clone, Debug)]
pub struct StaleOptions {
    /// Today, in microseconds (midnight UTC).
    pub today: i64,
    /// A flag serving one value is stale once it has done so this many days
    /// (by its last change in git; without git history, at once).
    pub launched_days: i64,
    /// The project's conventions, for the maximum lifetime of each kind.
    pub conventions: Conventions,
    /// Evaluations per flag from a server, for the "unused" signal.
    pub usage: Option<Usage>,
}

/// One stale flag or experiment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stale {
    /// Its name.
    pub name: String,
    /// `flag` or `experiment`.
    pub item: &'static str,
    /// Who answers for it.
    pub owner: Option<String>,
    /// Where it is declared.
    pub file: String,
    /// Its declaration's line, from 1.
    pub line: u32,
    /// Why it is stale, one line each.
    pub evidence: Vec<Evidence>,
    /// What to keep when removing it.
    pub suggestion: String,
}

/// One reason a flag is stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "signal", rename_all = "kebab-case")]
pub enum Evidence {
    /// Past its `expires` date.
    Expired {
        /// The date, `YYYY-MM-DD`.
        expires: String,
        /// Days since.
        days: i64,
    },
    /// Serves one value to every unit.
    Constant {
        /// The value, as written in a `.flag` file.
        value: String,
        /// Why: `off`, `no-rules`, `launched`.
        why: &'static str,
        /// Since when, by the last change of its lines in git.
        since: Option<String>,
        /// Days since then.
        days: Option<i64>,
    },
    /// An experiment past its `end`.
    Ended {
        /// The date, `YYYY-MM-DD`.
        end: String,
        /// Days since.
        days: i64,
    },
    /// Older than its kind's maximum lifetime, counted from its oldest line
    /// in git.
    PastLifetime {
        /// When it was added.
        added: String,
        /// Days since.
        days: i64,
        /// The kind's maximum.
        max_days: u32,
    },
    /// No reference in the code searched.
    Unreferenced,
    /// Not evaluated by the server (since it started) or in a usage file.
    Unused {
        /// Where the usage was read: `on URL since it started`, `in FILE`.
        source: String,
    },
    /// Not evaluated in the last `days` days, by the usage rollups of a
    /// server's store, whose history covers them.
    UnusedFor {
        /// N.
        days: i64,
        /// Where the usage was read: `on URL`, `in FILE`.
        source: String,
        /// Its last evaluation, `YYYY-MM-DD`; none: never since the
        /// history starts.
        last_evaluated: Option<String>,
        /// Days since its last evaluation, or since the history starts.
        days_since: i64,
        /// When the history starts, `YYYY-MM-DD`.
        history_starts: Option<String>,
    },
}

impl Evidence {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Evidence::Expired { expires, days } => {
                format!(
                    "expired {expires} ({} ago)",
                    vexil_words::count(*days, "day")
                )
            }
            Evidence::Constant {
                value,
                why,
                since,
                days,
            } => {
                let what = match *why {
                    "off" => "switched off",
                    "no-rules" => "no rules",
                    _ => "fully launched",
                };
                match (since, days) {
                    (Some(s), Some(d)) => format!(
                        "{what}: serves `{value}` to everyone since {s} ({})",
                        vexil_words::count(*d, "day")
                    ),
                    _ => format!("{what}: serves `{value}` to everyone"),
                }
            }
            Evidence::Ended { end, days } => {
                format!(
                    "experiment ended {end} ({} ago)",
                    vexil_words::count(*days, "day")
                )
            }
            Evidence::PastLifetime {
                added,
                days,
                max_days,
            } => format!(
                "added {added}, {} ago: past its kind's {}",
                vexil_words::count(*days, "day"),
                vexil_words::count(*max_days, "day")
            ),
            Evidence::Unreferenced => "no reference in the code".to_string(),
            Evidence::Unused { source } => format!("no evaluation {source}"),
            Evidence::UnusedFor {
                days,
                source,
                last_evaluated,
                days_since,
                history_starts,
            } => match last_evaluated {
                Some(last) => format!(
                    "no evaluation in {} {source}: last evaluated {last} ({} ago)",
                    vexil_words::count(*days, "day"),
                    vexil_words::count(*days_since, "day")
                ),
                None => format!(
                    "never evaluated {source} since its usage history starts, {} ({} ago)",
                    history_starts.as_deref().unwrap_or("?"),
                    vexil_words::count(*days_since, "day")
                ),
            },
        }
    }
}

/// The stale flags and experiments of a bundle, in inventory order.
/// `inventory` is the bundle's inventory (for places and git times);
/// `unreferenced` names those no code refers to, when code was searched.
pub fn stale(
    bundle: &Bundle,
    inventory: &[Entry],
    unreferenced: Option<&[String]>,
    options: &StaleOptions,
) -> Vec<Stale> {
    let today = options.today;
    let mut out = Vec::new();
    for entry in inventory {
        let mut evidence = Vec::new();
        let mut suggestion = String::new();
        if entry.item == "flag" {
            let Some(flag) = bundle.flags.iter().find(|f| f.name == entry.name) else {
                continue;
            };
            let value_text = |id: u32| {
                flag.values
                    .get(id as usize)
                    .map(|v| match &v.variant {
                        Some(name) => name.clone(),
                        None => v.value.to_string(),
                    })
                    .unwrap_or_default()
            };
            if let Some(expires) = flag.meta.expires.filter(|e| *e <= today) {
                evidence.push(Evidence::Expired {
                    expires: date(expires),
                    days: days_between(expires, today),
                });
            }
            let constant = constant_value(flag);
            // Operational and permission flags are meant to stay: one value
            // for everyone is how a kill switch rests.
            let short_lived = matches!(flag.kind, FlagKind::Release | FlagKind::Experiment);
            if let Some((value, why)) = constant.as_ref().filter(|_| short_lived) {
                let since = entry.times.map(|(_, changed)| changed * 1_000_000);
                let days = since.map(|s| days_between(s, today));
                if days.is_none_or(|d| d >= options.launched_days) {
                    evidence.push(Evidence::Constant {
                        value: value_text(*value),
                        why: match why {
                            Constant::Off => "off",
                            Constant::NoRules => "no-rules",
                            Constant::Launched { .. } => "launched",
                        },
                        since: since.map(date),
                        days,
                    });
                }
            }
            if let Some(e) = past_lifetime(entry, flag.kind, options) {
                evidence.push(e);
            }
            suggestion = match &constant {
                Some((value, _)) => format!("keep `{}`", value_text(*value)),
                None => format!(
                    "decide what to keep (the default is `{}`)",
                    value_text(flag.default)
                ),
            };
        } else if let Some(e) = bundle.experiments.iter().find(|e| e.name == entry.name) {
            if let Some(end) = e.end.filter(|end| *end <= today) {
                evidence.push(Evidence::Ended {
                    end: date(end),
                    days: days_between(end, today),
                });
            }
            if let Some(ev) = past_lifetime(entry, FlagKind::Experiment, options) {
                evidence.push(ev);
            }
            let control = e
                .variants
                .get(e.control as usize)
                .map_or(String::new(), |v| v.name.clone());
            suggestion =
                format!("keep the winning variant (`vexil analyze`); the control is `{control}`");
        }
        if unreferenced.is_some_and(|names| names.contains(&entry.name)) {
            evidence.push(Evidence::Unreferenced);
        }
        if let Some(usage) = &options.usage {
            if let Some(e) = unused(usage, &entry.name) {
                evidence.push(e);
            }
        }
        if !evidence.is_empty() {
            out.push(Stale {
                name: entry.name.clone(),
                item: entry.item,
                owner: entry.owner.clone(),
                file: entry.file.clone(),
                line: entry.line,
                evidence,
                suggestion,
            });
        }
    }
    out
}

/// The "unused" evidence for `name` in `usage`, when it went unused (and
/// the history proves it); the dashboard's Flags page asks it too.
pub fn unused(usage: &Usage, name: &str) -> Option<Evidence> {
    let Verdict::Unused { last } = usage.verdict(name) else {
        return None;
    };
    let Some(w) = &usage.window else {
        return Some(Evidence::Unused {
            source: usage.source.clone(),
        });
    };
    let since = last.or(w.history_starts)?;
    Some(Evidence::UnusedFor {
        days: w.days,
        source: usage.source.clone(),
        last_evaluated: last.map(date),
        days_since: days_between(since, w.now),
        history_starts: w.history_starts.map(date),
    })
}

fn past_lifetime(entry: &Entry, kind: FlagKind, options: &StaleOptions) -> Option<Evidence> {
    if !options.conventions.enabled {
        return None;
    }
    let max = options.conventions.kind(kind).max_lifetime_days?;
    let added = entry.times?.0 * 1_000_000;
    let days = days_between(added, options.today);
    (added + i64::from(max) * DAY <= options.today).then(|| Evidence::PastLifetime {
        added: date(added),
        days,
        max_days: max,
    })
}

//! Flag usage from an evaluation server, for the "unused" stale signal.
//! Two sources: the usage rollups the server keeps in its store (`GET
//! /v1/usage`, or that JSON saved to a file), which know each flag's last
//! evaluation and since when the history is complete, so "unused in N
//! days" is proven or said to be unprovable; or its Prometheus metrics
//! (`vexil_evaluations_total`, counts since it started), where "unused"
//! means "not evaluated since the server started", and says so.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

/// Evaluations per flag, and where they were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Where the counts come from, for the evidence: `on URL since it
    /// started`, `in FILE`.
    pub source: String,
    /// Evaluations per flag or experiment (absent: none).
    pub evaluations: BTreeMap<String, u64>,
    /// With the store's rollups: the window asked about and what the
    /// history proves; none for metrics (counts since start).
    pub window: Option<Window>,
}

/// What `GET /v1/usage` says about the last N days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// N.
    pub days: i64,
    /// The server's time when it answered, in microseconds.
    pub now: i64,
    /// Since when the store holds every evaluation, in microseconds; none:
    /// nothing was ever recorded.
    pub history_starts: Option<i64>,
    /// Each flag's last evaluation, in microseconds.
    pub last: BTreeMap<String, i64>,
}

/// Whether a flag went unused over the window, and the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Evaluated in the window (or, for metrics, since start).
    Used,
    /// Not evaluated in the window: last evaluated then (microseconds), or
    /// never since the history starts.
    Unused {
        /// Its last evaluation, before the window.
        last: Option<i64>,
    },
    /// No evaluation in the history, but the history is shorter than the
    /// window: nothing is claimed.
    Unknown,
}

#[derive(Deserialize)]
struct Summary {
    until: Timestamp,
    history_starts: Option<Timestamp>,
    flags: Vec<FlagSummary>,
}

#[derive(Deserialize)]
struct FlagSummary {
    flag: String,
    total: u64,
    last_evaluated: Option<Timestamp>,
}

impl Usage {
    /// The counts in a server's metrics text; refused when the text has no
    /// evaluation counters at all (not a Vexil server's metrics).
    pub fn from_metrics(text: &str, source: String) -> Result<Usage, String> {
        if !text.contains("vexil_evaluations") {
            return Err(format!(
                "no `vexil_evaluations_total` counters {source}: not the metrics of `vexil serve`"
            ));
        }
        let mut evaluations = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("vexil_evaluations_total{") else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once('}') else {
                continue;
            };
            let Some(flag) = label(labels, "flag") else {
                continue;
            };
            let count = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            // Counters are whole numbers; the text writes them as such.
            *evaluations.entry(flag).or_insert(0) += count as u64;
        }
        Ok(Usage {
            source,
            evaluations,
            window: None,
        })
    }

    /// The usage `GET /v1/usage` answered (JSON), for "unused in `days`
    /// days"; refused when the text is not that answer.
    pub fn from_rollups(text: &str, source: String, days: i64) -> Result<Usage, String> {
        let summary: Summary = serde_json::from_str(text)
            .map_err(|e| format!("the usage {source} is not the JSON of `GET /v1/usage`: {e}"))?;
        Ok(Usage {
            evaluations: summary
                .flags
                .iter()
                .map(|f| (f.flag.clone(), f.total))
                .collect(),
            window: Some(Window {
                days,
                now: summary.until.as_microsecond(),
                history_starts: summary.history_starts.map(|t| t.as_microsecond()),
                last: summary
                    .flags
                    .iter()
                    .filter_map(|f| Some((f.flag.clone(), f.last_evaluated?.as_microsecond())))
                    .collect(),
            }),
            source,
        })
    }

    /// Whether `name` went unused: never evaluated since start (metrics),
    /// or not in the window (rollups), when the history proves it.
    pub fn verdict(&self, name: &str) -> Verdict {
        let Some(w) = &self.window else {
            return match self.evaluations.get(name).is_none_or(|n| *n == 0) {
                true => Verdict::Unused { last: None },
                false => Verdict::Used,
            };
        };
        let cut = w.now - w.days * crate::DAY;
        match w.last.get(name) {
            Some(last) if *last >= cut => Verdict::Used,
            Some(last) => Verdict::Unused { last: Some(*last) },
            None if w.history_starts.is_some_and(|h| h <= cut) => Verdict::Unused { last: None },
            None => Verdict::Unknown,
        }
    }

    /// When the history is too short to prove "unused in N days": a
    /// sentence saying so.
    pub fn too_short(&self) -> Option<String> {
        let w = self.window.as_ref()?;
        let cut = w.now - w.days * crate::DAY;
        match w.history_starts {
            Some(h) if h <= cut => None,
            Some(h) => Some(format!(
                "the usage history {} starts {} ({} ago), shorter than {}: flags with no evaluation in it are not reported as unused",
                self.source,
                crate::date(h),
                vexil_words::count((w.now - h) / crate::DAY, "day"),
                vexil_words::count(w.days, "day"),
            )),
            None => Some(format!(
                "no usage was ever recorded {}: flags are not reported as unused",
                self.source
            )),
        }
    }
}

/// The value of label `name` in `a="x",b="y"` (flag names need no escapes;
/// `\"` and `\\` are undone anyway).
fn label(labels: &str, name: &str) -> Option<String> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let mut out = String::new();
    let mut chars = labels[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_flag_from_the_metrics_text() {
        let text = "# TYPE vexil_evaluations counter\n\
            vexil_evaluations_total{flag=\"a\",variant=\"on\",reason=\"STATIC\"} 3\n\
            vexil_evaluations_total{flag=\"a\",variant=\"off\",reason=\"DEFAULT\"} 2\n\
            vexil_evaluations_total{reason=\"SPLIT\",flag=\"b\",variant=\"x\"} 0\n\
            vexil_errors_total{code=\"FLAG_NOT_FOUND\"} 1\n";
        let usage = Usage::from_metrics(text, "here".into()).expect("metrics");
        assert_eq!(usage.evaluations.get("a"), Some(&5));
        assert_eq!(usage.verdict("b"), Verdict::Unused { last: None });
        assert_eq!(usage.verdict("c"), Verdict::Unused { last: None });
        assert_eq!(usage.verdict("a"), Verdict::Used);
        assert!(Usage::from_metrics("up 1\n", "there".into()).is_err());
    }

    #[test]
    fn unused_in_n_days_from_the_rollups_only_when_the_history_proves_it() {
        let text = r#"{"since":"2026-11-07T00:00:00Z","until":"2026-12-07T12:00:00Z",
            "history_starts":"2026-10-01T00:00:00Z","complete":true,"flags":[
            {"flag":"recent","total":4,"last_evaluated":"2026-12-07T11:00:00Z"},
            {"flag":"old","total":0,"last_evaluated":"2026-11-01T09:00:00Z"},
            {"flag":"never","total":0,"last_evaluated":null}]}"#;
        let usage = Usage::from_rollups(text, "on here".into(), 30).expect("json");
        assert_eq!(usage.verdict("recent"), Verdict::Used);
        let old: Timestamp = "2026-11-01T09:00:00Z".parse().expect("time");
        assert_eq!(
            usage.verdict("old"),
            Verdict::Unused {
                last: Some(old.as_microsecond())
            }
        );
        assert_eq!(usage.verdict("never"), Verdict::Unused { last: None });
        assert_eq!(usage.too_short(), None);
        // Ten days of history cannot prove thirty days unused, except for
        // a flag whose last evaluation is older than the thirty days.
        let short = text.replace("2026-10-01T00:00:00Z", "2026-11-27T00:00:00Z");
        let usage = Usage::from_rollups(&short, "on here".into(), 30).expect("json");
        assert_eq!(usage.verdict("never"), Verdict::Unknown);
        assert_eq!(usage.verdict("recent"), Verdict::Used);
        assert!(usage.too_short().expect("note").contains("10 days ago"));
        assert!(Usage::from_rollups("up 1", "x".into(), 3).is_err());
    }
}

//! Flag usage from an evaluation server, for the "unused" stale signal:
//! the evaluations of each flag and experiment since the server started,
//! read from its Prometheus metrics (`vexil_evaluations_total`, by flag,
//! variant and reason, as `GET /metrics` serves them). The server keeps no
//! time of last evaluation, so "unused" means "not evaluated since the
//! server started", and says so.

use std::collections::BTreeMap;

/// Evaluations per flag, and where they were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Where the counts come from, for the evidence: `on URL since it
    /// started`, `in FILE`.
    pub source: String,
    /// Evaluations per flag or experiment (absent: none).
    pub evaluations: BTreeMap<String, u64>,
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
        })
    }

    /// Whether `name` was never evaluated.
    pub fn unused(&self, name: &str) -> bool {
        self.evaluations.get(name).is_none_or(|n| *n == 0)
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
        assert!(usage.unused("b"));
        assert!(usage.unused("c"));
        assert!(!usage.unused("a"));
        assert!(Usage::from_metrics("up 1\n", "there".into()).is_err());
    }
}

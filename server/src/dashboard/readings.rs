//! The metrics registry read back: the dashboard's numbers come from the
//! same OpenMetrics text `/metrics` serves, so the two never disagree.

/// One sample: a metric's name, its labels, its value.
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample of the registry now.
pub fn samples(app: &crate::state::App) -> Vec<Sample> {
    app.metrics
        .render()
        .map(|text| parse(&text))
        .unwrap_or_default()
}

/// The samples of OpenMetrics text (comments skipped; a line that does
/// not read is skipped too).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(line)
        .collect()
}

fn line(line: &str) -> Option<Sample> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        None => (series.to_string(), Vec::new()),
        Some((name, rest)) => (name.to_string(), labels(rest.strip_suffix('}')?)?),
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// `a="x",b="y \"quoted\""` as pairs.
fn labels(text: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => return None,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end?;
        out.push((name.trim_start_matches(',').to_string(), value));
        rest = after.get(end + 1..)?.trim_start_matches(',');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_quotes_and_commas_read_back() {
        let s = parse(
            "# TYPE x counter\nvexil_evaluations_total{flag=\"a,b\",variant=\"say \\\"hi\\\"\",reason=\"SPLIT\"} 3\nvexil_sse_clients 2\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].label("flag"), Some("a,b"));
        assert_eq!(s[0].label("variant"), Some("say \"hi\""));
        assert_eq!(s[0].label("reason"), Some("SPLIT"));
        assert_eq!(s[0].value, 3.0);
        assert_eq!(s[1].name, "vexil_sse_clients");
        assert!(s[1].labels.is_empty());
    }
}

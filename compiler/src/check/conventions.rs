//! The project's conventions (`vexil.toml`), checked on each flag and
//! experiment: W0101 to W0106. Nothing is reported without a project file.

use vexil_grammar::{self as ast, PropertyKind};
use vexil_ir::FlagKind;

use super::flag::Props;
use super::FileChecker;
use crate::suggest::did_you_mean;
use crate::Code;

const DAY: i64 = 86_400_000_000;

/// What the conventions read of one declaration.
pub(super) struct Declared<'a, 'p> {
    pub name: &'a ast::Ident,
    /// The flag's kind; experiments follow the `experiment` kind's rules.
    pub kind: FlagKind,
    /// `flag` or `experiment`, for messages.
    pub item: &'static str,
    pub props: &'a Props<'p>,
    /// `expires` (an experiment's `end`), when given and valid.
    pub expires: Option<(i64, ast::Span)>,
}

impl FileChecker<'_> {
    pub(super) fn conventions(&mut self, d: Declared<'_, '_>) {
        let conventions = self.ws.conventions(self.db);
        if !conventions.enabled {
            return;
        }
        let rules = conventions.kind(d.kind);
        let kind = d.kind.as_str();
        let name = &d.name.name;
        // "release flag `x`", "experiment `y`" (not "experiment experiment").
        let what = if d.item == kind {
            d.item.to_string()
        } else {
            format!("{kind} {}", d.item)
        };
        if let Some(pattern) = &rules.name {
            if !pattern.matches(name) {
                self.rep
                    .report(
                        Code::NameConvention,
                        d.name.span,
                        format!("{what} `{name}` does not match `{}`", pattern.text),
                    )
                    .label("name outside the convention")
                    .help(format!(
                        "rename it to match `{}` (`[conventions.{kind}] name` in `vexil.toml`)",
                        pattern.text
                    ));
            }
        }

        let owner = match d.props.one("owner").map(|p| &p.kind) {
            Some(PropertyKind::Owner(s)) => Some(s),
            _ => None,
        };
        match owner {
            None if conventions.require_owner => {
                self.rep
                    .report(
                        Code::MissingOwner,
                        d.name.span,
                        format!("{} `{name}` has no owner", d.item),
                    )
                    .label("`owner` is required by `vexil.toml`")
                    .help(match conventions.owners.first() {
                        Some(o) => format!("add `owner \"{o}\"` (or another team)"),
                        None => "add `owner \"team\"`".to_string(),
                    });
            }
            Some(owner)
                if !conventions.owners.is_empty() && !conventions.owners.contains(&owner.value) =>
            {
                let suggestion =
                    did_you_mean(&owner.value, conventions.owners.iter().map(String::as_str));
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "owners allowed by `vexil.toml`: {}",
                        quoted_list(&conventions.owners)
                    ),
                };
                self.rep
                    .report(
                        Code::OwnerNotAllowed,
                        owner.span,
                        format!("`{}` is not one of the project's owners", owner.value),
                    )
                    .label("unknown owner")
                    .help(help);
            }
            _ => {}
        }

        if !conventions.tags.is_empty() {
            if let Some(PropertyKind::Tags(tags)) = d.props.one("tags").map(|p| &p.kind) {
                for tag in tags {
                    if conventions.tags.contains(&tag.value) {
                        continue;
                    }
                    let help =
                        match did_you_mean(&tag.value, conventions.tags.iter().map(String::as_str))
                        {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "tags allowed by `vexil.toml`: {}",
                                quoted_list(&conventions.tags)
                            ),
                        };
                    self.rep
                        .report(
                            Code::TagNotAllowed,
                            tag.span,
                            format!("`{}` is not one of the project's tags", tag.value),
                        )
                        .label("unknown tag")
                        .help(help);
                }
            }
        }

        let expiry_word = if d.item == "experiment" {
            "end"
        } else {
            "expires"
        };
        match d.expires {
            None if rules.require_expires && d.props.one(expiry_word).is_none() => {
                self.rep
                    .report(
                        Code::MissingExpiry,
                        d.name.span,
                        format!("{what} `{name}` has no `{expiry_word}` date"),
                    )
                    .label(format!("`{expiry_word}` is required for {what}s"))
                    .help(match rules.max_lifetime_days {
                        Some(days) => format!(
                            "add `{expiry_word} DATE`, at most {} from today",
                            vexil_words::count(days as usize, "day")
                        ),
                        None => format!("add `{expiry_word} DATE`"),
                    });
            }
            Some((expires, span)) => {
                let (Some(max), Some(today)) = (rules.max_lifetime_days, self.ws.today(self.db))
                else {
                    return;
                };
                let latest = today + i64::from(max) * DAY;
                if expires > latest {
                    let days = (expires - today) / DAY;
                    self.rep
                        .report(
                            Code::LifetimeTooLong,
                            span,
                            format!(
                                "{what} `{name}` is planned to live {}, longer than {}",
                                vexil_words::count(days as usize, "more day"),
                                vexil_words::count(max as usize, "day")
                            ),
                        )
                        .label(format!("more than {max} days away"))
                        .help(format!(
                            "move the date to {} or earlier, or raise `[conventions.{kind}] max_lifetime_days`",
                            date(latest)
                        ));
                }
            }
            None => {}
        }
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A day as `YYYY-MM-DD`.
fn date(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| micros.to_string())
}

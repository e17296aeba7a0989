//! A project's conventions, from the `[conventions]` table of `vexil.toml`
//! at the repository root: name patterns per kind, required owners and
//! expiry dates, a maximum lifetime per kind, allowed owners and tags.
//!
//! They are an input of the database (the workspace's `conventions`), so
//! `vexil check` and the language server report the same W01xx warnings.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vexil_ir::FlagKind;

/// The project file's name, looked for at the repository root.
pub const PROJECT_FILE: &str = "vexil.toml";

/// Days a release or experiment flag may live unless the project says
/// otherwise (Unleash's expected lifetime for both kinds).
pub const DEFAULT_MAX_LIFETIME_DAYS: u32 = 40;

/// What a project expects of its flags and experiments. The default
/// expects nothing (no project file, or one without `[conventions]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Conventions {
    /// Whether any convention applies (a `[conventions]` table was given).
    pub enabled: bool,
    /// Every flag and experiment names an `owner`.
    pub require_owner: bool,
    /// The owners allowed; empty allows any.
    pub owners: Vec<String>,
    /// The tags allowed; empty allows any.
    pub tags: Vec<String>,
    /// The metric events the services emit (`events = [..]`); empty knows
    /// none, and a guardrail's events are then not checked.
    pub events: Vec<String>,
    /// Per kind, in `FlagKind::ALL` order; experiments follow `experiment`.
    pub kinds: [KindRules; 4],
}

/// What a project expects of one kind of flag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KindRules {
    /// The pattern names of this kind match.
    pub name: Option<NamePattern>,
    /// Whether `expires` (an experiment's `end`) is required.
    pub require_expires: bool,
    /// How many days after today `expires` may be, at most; `vexil stale`
    /// also counts them from the day the flag was added.
    pub max_lifetime_days: Option<u32>,
}

/// A name pattern: a regular expression the whole name must match.
#[derive(Clone)]
pub struct NamePattern {
    /// The expression as written.
    pub text: String,
    regex: regex::Regex,
}

impl NamePattern {
    /// Whether the whole name matches.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }
}

impl fmt::Debug for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl PartialEq for NamePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for NamePattern {}

impl Hash for NamePattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Conventions {
    /// The rules of one kind of flag.
    pub fn kind(&self, kind: FlagKind) -> &KindRules {
        let i = FlagKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        // `kinds` has one entry per `FlagKind::ALL`, so `i` is in range.
        &self.kinds[i]
    }

    /// The conventions of a project file's text; the error names the key
    /// and says what is accepted.
    pub fn parse(text: &str) -> Result<Conventions, String> {
        let file: FileToml = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let Some(c) = file.conventions else {
            return Ok(Conventions::default());
        };
        let mut kinds: [KindRules; 4] = Default::default();
        for (i, kind) in FlagKind::ALL.into_iter().enumerate() {
            let given = match kind {
                FlagKind::Release => &c.release,
                FlagKind::Experiment => &c.experiment,
                FlagKind::Operational => &c.operational,
                FlagKind::Permission => &c.permission,
            };
            let short_lived = matches!(kind, FlagKind::Release | FlagKind::Experiment);
            let given = given.clone().unwrap_or_default();
            let name = match given.name {
                Some(text) => {
                    // Anchored so that the whole name must match.
                    let regex = regex::Regex::new(&format!("^(?:{text})$")).map_err(|e| {
                        format!(
                            "`conventions.{}.name` is not a valid regular expression: {e}",
                            kind.as_str()
                        )
                    })?;
                    Some(NamePattern { text, regex })
                }
                None => None,
            };
            let max_lifetime_days = match given.max_lifetime_days {
                Some(0) => None,
                Some(days) => Some(days),
                None => short_lived.then_some(DEFAULT_MAX_LIFETIME_DAYS),
            };
            kinds[i] = KindRules {
                name,
                require_expires: given.require_expires.unwrap_or(short_lived),
                max_lifetime_days,
            };
        }
        Ok(Conventions {
            enabled: true,
            require_owner: c.require_owner.unwrap_or(true),
            owners: c.owners,
            tags: c.tags,
            events: c.events,
            kinds,
        })
    }

    /// The conventions for the sources under `dir`: from the nearest
    /// `vexil.toml` in `dir` or a folder above it, up to the repository
    /// root (a folder holding `.git`). `Ok(None)` when there is none.
    pub fn find(dir: &Path) -> Result<Option<(PathBuf, Conventions)>, String> {
        let Some(path) = project_file(dir) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let conventions =
            Conventions::parse(&text).map_err(|e| format!("in `{}`: {e}", path.display()))?;
        Ok(Some((path, conventions)))
    }
}

/// The nearest `vexil.toml` at or above `dir`, not above the repository
/// root.
pub fn project_file(dir: &Path) -> Option<PathBuf> {
    let start = if dir.is_file() { dir.parent()? } else { dir };
    let start = std::path::absolute(start).ok()?;
    for folder in start.ancestors() {
        let candidate = folder.join(PROJECT_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if folder.join(".git").exists() {
            return None;
        }
    }
    None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    conventions: Option<ConventionsToml>,
    /// The analytics tables (`[warehouse]`), read by `vexil analyze`; the
    /// checker only lets the table be.
    #[allow(dead_code)]
    warehouse: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConventionsToml {
    require_owner: Option<bool>,
    #[serde(default)]
    owners: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    events: Vec<String>,
    release: Option<KindToml>,
    experiment: Option<KindToml>,
    operational: Option<KindToml>,
    permission: Option<KindToml>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindToml {
    name: Option<String>,
    require_expires: Option<bool>,
    max_lifetime_days: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_unleash_for_short_lived_kinds() {
        let c = Conventions::parse("[conventions]\n").unwrap_or_default();
        assert!(c.enabled && c.require_owner);
        let release = c.kind(FlagKind::Release);
        assert!(release.require_expires);
        assert_eq!(release.max_lifetime_days, Some(40));
        let ops = c.kind(FlagKind::Operational);
        assert!(!ops.require_expires);
        assert_eq!(ops.max_lifetime_days, None);
    }

    #[test]
    fn a_file_without_conventions_expects_nothing() {
        assert_eq!(Conventions::parse(""), Ok(Conventions::default()));
    }

    #[test]
    fn mistakes_are_named() {
        let err = Conventions::parse("[conventions]\nrequire_ownr = true\n").unwrap_err();
        assert!(err.contains("require_ownr"), "{err}");
        let err = Conventions::parse("[conventions.release]\nname = \"(\"\n").unwrap_err();
        assert!(err.contains("conventions.release.name"), "{err}");
        let err =
            Conventions::parse("[conventions.release]\nmax_lifetime_days = -1\n").unwrap_err();
        assert!(
            err.contains("max_lifetime_days") || err.contains("invalid value"),
            "{err}"
        );
    }

    #[test]
    fn patterns_match_whole_names() {
        let c = Conventions::parse("[conventions.release]\nname = \"rel-[a-z-]+\"\n")
            .unwrap_or_default();
        let Some(p) = &c.kind(FlagKind::Release).name else {
            panic!("no pattern");
        };
        assert!(p.matches("rel-checkout"));
        assert!(!p.matches("x-rel-checkout"));
    }
}

//! Every diagnostic's stable code, with its severity and an explanation
//! (`vexil explain CODE`). Codes are never reused or renumbered.

use serde::Serialize;

/// Whether a diagnostic stops the build; each code has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The sources cannot be built into a bundle.
    Error,
    /// Builds, but probably not as meant.
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal, $explanation:literal;)*) => {
        /// A diagnostic's stable code (`E0xxx` for errors, `W0xxx` for
        /// warnings); each variant's title and explanation are in
        /// [`Code::title`] and [`Code::explanation`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $title] $variant,)*
        }

        impl Code {
            /// Every code, in numbering order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written in messages: `E0102`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// Whether a diagnostic with this code is an error or a warning.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// A few words on what the code means.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// A longer explanation with an example of the fix.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => $explanation,)* }
            }

            /// The code written as `text` (case and surrounding spaces
            /// ignored), for `vexil explain`.
            pub fn parse(text: &str) -> Option<Code> {
                let text = text.trim().to_ascii_uppercase();
                Code::ALL.iter().copied().find(|c| c.as_str() == text)
            }
        }
    };
}

codes! {
    Syntax = "E0001", Error, "syntax error",
        "The file does not follow the grammar. The message says what was expected where. \
         Each broken item is reported once and skipped; the rest of the file is still checked.";
    InvalidUtf8 = "E0002", Error, "file is not UTF-8",
        "A `.flag` file must be UTF-8 text; this one holds a byte that is not part of a UTF-8 \
         character, often because an editor saved it as Latin-1 (`é` as the single byte `0xE9`) \
         or UTF-16. The diagnostic points at the first such byte by its offset. Save the file \
         as UTF-8. Each such byte reads as a space, so the rest of the file and the other \
         files are still checked, but nothing is built until the file is fixed.";
    UnknownContext = "E0101", Error, "unknown context",
        "A condition, unit or test names a context that no file declares. \
         Declare it with `context NAME { .. }` or fix the name.";
    UnknownField = "E0102", Error, "unknown field",
        "A field is not declared in its context's schema. Add it to the `context` block or fix the name.";
    UnknownSegment = "E0103", Error, "unknown segment",
        "A bare name in a condition must be a segment (or, compared with an enum field, an enum value).";
    UnknownFlag = "E0104", Error, "unknown flag",
        "A prerequisite or a test expectation names a flag or experiment that is not declared.";
    UnknownVariant = "E0105", Error, "unknown variant",
        "A name used as a value must be one of the flag's or experiment's variants.";
    UnknownEnumValue = "E0106", Error, "unknown enum value",
        "An enum field is compared with a value its type does not declare.";
    DuplicateName = "E0107", Error, "name declared twice",
        "Contexts, segments, flags and experiments share one namespace across the project; each name is declared once.";
    DuplicateMember = "E0108", Error, "member declared twice",
        "A field, enum value, variant, rule, metric or test name appears twice in one declaration.";
    TypeMismatch = "E0201", Error, "type mismatch",
        "The two sides of a comparison have different types. Numbers of type int and float may be compared; \
         nothing else converts.";
    OperatorType = "E0202", Error, "operator not applicable to this type",
        "Ordering works on numbers, versions, timestamps and enums; string operators on strings; \
         `contains` and `in` with a list field on lists; addresses take `==`, `!=` and `in` ranges.";
    ValueType = "E0203", Error, "value of the wrong type",
        "A default, variant, rule result or expected value does not have the flag's value type.";
    NotACondition = "E0204", Error, "not a condition",
        "Only bool fields, segments, `true`/`false` and comparisons can stand alone as a condition.";
    InvalidSemver = "E0205", Error, "invalid version literal",
        "Versions follow Semantic Versioning 2.0: `MAJOR.MINOR.PATCH`, optionally `-pre.release` and `+build`.";
    InvalidTimestamp = "E0206", Error, "invalid timestamp literal",
        "Timestamps are RFC 3339 (`2026-12-01T09:00:00Z`, with an offset) or a date (`2026-12-01`, midnight UTC).";
    InvalidNumber = "E0207", Error, "invalid number",
        "Integers are 64-bit; floats must be finite.";
    InvalidRegex = "E0208", Error, "invalid regular expression",
        "The pattern of `matches` does not compile with Rust's `regex` syntax.";
    InvalidPercent = "E0209", Error, "invalid percentage",
        "Percentages are between 0% and 100%, with at most three decimals (0.001% is one bucket).";
    InvalidDuration = "E0210", Error, "invalid duration",
        "Durations are a whole number followed by `s`, `m`, `h`, `d` or `w`.";
    InvalidUnit = "E0211", Error, "invalid bucketing unit",
        "A unit must be a string or int field, or a context with a `key` field.";
    InvalidKey = "E0212", Error, "invalid targeting key",
        "A context has at most one `key` field, and it must be a required string or int.";
    InvalidType = "E0213", Error, "invalid field type",
        "Lists hold non-optional scalars other than `ip`; enums have at least one value.";
    InvalidAddress = "E0214", Error, "invalid IP address or range",
        "Addresses are IPv4 (`10.1.2.3`) or IPv6 (`2001:db8::1`), written as strings; `in` takes CIDR ranges \
         (`\"10.0.0.0/8\"`, `\"2001:db8::/32\"`) or single addresses, with no bits set after the prefix.";
    WeightsNot100 = "E0301", Error, "weights do not sum to 100%",
        "A split's arms and an experiment's variants must cover every unit: their weights sum to exactly 100%.";
    SegmentCycle = "E0302", Error, "segments form a cycle",
        "A segment uses itself, directly or through others, so it has no meaning.";
    PrerequisiteCycle = "E0303", Error, "prerequisites form a cycle",
        "A flag requires itself, directly or through other flags.";
    LayerOverflow = "E0304", Error, "layer traffic exceeds 100%",
        "Experiments in one layer never share a unit, so their traffic together must fit in 100%.";
    MissingControl = "E0305", Error, "missing control variant",
        "An experiment names its control arm with `control NAME`: the arm served to units not enrolled \
         and the baseline of its analysis.";
    MissingProperty = "E0306", Error, "missing required property",
        "Flags need `kind` and `default`; experiments need `unit`, `variants` and `control`.";
    MisplacedProperty = "E0307", Error, "property not allowed here",
        "Some properties belong to flags (`kind`, `default`, `rule`, `requires`, `enabled`, `expires`) \
         and some to experiments (`unit`, `traffic`, `audience`, `layer`, `start`, `end`, `control`, `metrics`, `planning`).";
    DuplicateProperty = "E0308", Error, "property given twice",
        "A property that takes one value may appear once.";
    UnknownKind = "E0309", Error, "unknown flag kind",
        "A flag's kind is `release`, `experiment`, `operational` or `permission`.";
    RolloutValue = "E0310", Error, "rollout needs a value",
        "`25% by user.id` serves `true` and is only for bool flags; other flags write `VALUE for 25% by user.id`.";
    EmptyWindow = "E0311", Error, "empty time window",
        "A rule's `from` must be before its `until`, and an experiment's `start` before its `end`.";
    InvalidMetric = "E0312", Error, "invalid metric",
        "Metrics are `conversion(event)`, `mean(event)` or `ratio(numerator, denominator)`; \
         thresholds belong to guardrails.";
    InvalidPlanning = "E0313", Error, "invalid planning input",
        "Planning takes `baseline`, `stddev`, `mde`, `alpha`, `power` and `daily_units`, with alpha and power \
         strictly between 0 and 1.";
    InvalidPrerequisite = "E0314", Error, "invalid prerequisite",
        "`requires F` alone means F is true and needs a bool flag; otherwise write `requires F == VALUE`. \
         Prerequisites name flags, not experiments.";
    InvalidStages = "E0315", Error, "invalid rollout stages",
        "A staged rollout (`rule ramp: from 2026-12-10T09:00:00Z => 1% for 1h, 5% for 1d, 100% by user.id`) \
         starts at its rule's `from`; every stage but the last lasts a positive duration, the last has none, \
         and each stage serves a larger share than the one before it.";
    InvalidGuardrail = "E0316", Error, "invalid guardrail",
        "Guardrails follow a staged rollout's rule, which `vexil serve`'s monitor watches: \
         `guard NAME: METRIC must not increase|decrease by P% [=> rollback|pause|notify]` (the metric as in \
         an experiment's `metrics`, a positive relative threshold) and `min sample N per stage` (a positive \
         whole number, with at least one guard).";
    InvalidTestValue = "E0401", Error, "invalid test context",
        "A test's context gives each field a value of its declared type; a context is given once.";
    InvalidExpectation = "E0402", Error, "invalid expectation",
        "Reasons are STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED, ERROR; error codes are FLAG_NOT_FOUND, \
         TYPE_MISMATCH, TARGETING_KEY_MISSING, INVALID_CONTEXT, PARSE_ERROR, GENERAL.";
    UnreachableRule = "W0001", Warning, "unreachable rule",
        "An earlier rule always matches, so this rule never does.";
    ExpiredFlag = "W0002", Warning, "flag past its expiry date",
        "The flag's `expires` date has passed: clean it up, or extend the date if it must stay.";
    UnguardedOptional = "W0003", Warning, "optional field used without a presence test",
        "When the field is missing the comparison is unknown and the rule does not match. \
         Test it first: `user.company is set and user.company == \"acme\"`.";
    EmptyList = "W0004", Warning, "empty list",
        "`x in []` is always false and `x not in []` always true.";
    TestWithoutExpectations = "W0005", Warning, "test without expectations",
        "A test with no `expect` line checks nothing.";
    PlanTooLong = "W0006", Warning, "planned duration exceeds the experiment's dates",
        "The sample size implied by the planning inputs needs more days than the experiment runs.";
    TestReadsClock = "W0007", Warning, "test depends on the time but gives no `now`",
        "A flag it expects has a time window or compares with `now` (in its rules, its segments or the \
         flags it requires), or an experiment it expects has dates: without `now` the test runs at the \
         current time, so it passes today and fails on its own one day. Give the time: \
         `now 2026-12-01T09:00:00Z`.";
    RolloutOutlivesFlag = "W0008", Warning, "staged rollout ends after the flag expires",
        "The last stage of a staged rollout starts at or after the flag's `expires`: the plan does not \
         fit in the flag's life. Move `expires` later or shorten the stages.";
    StageTooShort = "W0009", Warning, "a stage is too short to detect a guardrail's threshold",
        "With `planning` on the flag (`baseline`, `daily_units`, and `stddev` for a mean; `alpha` and \
         `power` default to 0.05 and 0.8), each stage of a guarded rollout is sized like an experiment \
         (`vexil plan`'s formulas, alpha shared over the stages and guardrails as the monitor does): a \
         stage whose smaller side sees fewer units than the test needs to detect the guardrail's \
         threshold cannot catch it. Lengthen the stage, or plan for more traffic.";
    NameConvention = "W0101", Warning, "name does not follow the project's convention",
        "The project file (`vexil.toml`, `[conventions.KIND] name = \"REGEX\"`) gives a pattern that every \
         name of this kind matches whole. Rename the flag (the editor's rename keeps its buckets with a `salt`), \
         or change the pattern.";
    MissingOwner = "W0102", Warning, "no owner",
        "The project file requires every flag and experiment to name who answers for it: `owner \"team\"` \
         (`[conventions] require_owner = false` turns this off).";
    MissingExpiry = "W0103", Warning, "no expiry date",
        "The project file requires flags of this kind to say when they should be gone: `expires DATE` \
         (an experiment's `end`). By default release and experiment flags need one \
         (`[conventions.KIND] require_expires = false` turns this off).";
    LifetimeTooLong = "W0104", Warning, "expiry beyond the kind's maximum lifetime",
        "Flags of this kind should not live longer than the project file's `max_lifetime_days` \
         (40 days for release and experiment flags unless the project says otherwise, none for \
         operational and permission flags), so the expiry date may be at most that many days away. \
         Move it closer, or change the kind if the flag is meant to stay.";
    OwnerNotAllowed = "W0105", Warning, "owner not among the project's owners",
        "The project file lists the owners flags may name (`[conventions] owners = [..]`). \
         Use one of them, or add the team to the list.";
    UnknownEvent = "W0107", Warning, "metric event that nothing emits",
        "A metric (an experiment's, or a rollout guardrail's) reads an event that nothing emits: it \
         watches nothing, and a guardrail on it would never stop its rollout. When the project file \
         lists the events its services emit (`[conventions] events = [..]`), that is an event not in \
         the list; without a list, an event that no other metric reads while a name a typo away is \
         read elsewhere (`search_eror` beside `search_error`). Fix the event's name, or add it to the \
         list once something emits it.";
    TagNotAllowed = "W0106", Warning, "tag not among the project's tags",
        "The project file lists the tags flags may carry (`[conventions] tags = [..]`). \
         Use one of them, or add the tag to the list.";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Staged rollouts (`rule ramp: from T => 1% for 1h, 5% for 1d, 100% by
//! user.id`, or `1% until T2, 5% until T3, 100%`): each stage's share and
//! when it starts, lowered from the rule's `from` and the durations or end
//! times before it; and the warning when the last stage starts after the
//! flag expires.

use vexil_grammar::{self as ast, Span};
use vexil_ir::value::format_timestamp;
use vexil_ir::{self as ir};

use super::FileChecker;
use crate::literal;
use crate::Code;

/// A staged rule's last stage start, for the check against `expires`.
pub(super) struct StagedEnd {
    pub last_starts: i64,
    pub span: Span,
    pub what: String,
}

impl FileChecker<'_> {
    /// The stages with their start times, or `None` after reporting why not
    /// (every problem is reported, not only the first).
    pub(super) fn stages(
        &mut self,
        stages: &[ast::Stage],
        from: Option<i64>,
        span: Span,
    ) -> Option<Vec<ir::Stage>> {
        let mut ok = true;
        if from.is_none() {
            self.rep
                .report(
                    Code::InvalidStages,
                    span,
                    "a staged rollout needs the time its first stage starts",
                )
                .label("starts when?")
                .help("give the rule a start: `rule ramp: from 2026-12-10T09:00:00Z => 1% for 1h, 100% by user.id`");
            ok = false;
        }
        let mut starts = from.unwrap_or(0);
        let mut lowered = Vec::with_capacity(stages.len());
        let mut previous: Option<(u32, &ast::Literal)> = None;
        let last = stages.len().saturating_sub(1);
        for (i, stage) in stages.iter().enumerate() {
            let buckets = self.percent(&stage.percent);
            if let (Some(b), Some((before, before_lit))) = (buckets, previous) {
                if b <= before {
                    self.rep
                        .report(
                            Code::InvalidStages,
                            stage.percent.span,
                            format!(
                                "stage {} serves no more than stage {} before it",
                                i + 1,
                                i
                            ),
                        )
                        .label("not above the stage before")
                        .secondary(before_lit.span, "the stage before")
                        .help("each stage serves a larger share than the one before it; a stage only adds units");
                    ok = false;
                }
            }
            if let Some(b) = buckets {
                previous = Some((b, &stage.percent));
            } else {
                ok = false;
            }
            lowered.push(ir::Stage {
                starts,
                buckets: buckets.unwrap_or(0),
            });
            let end = match (&stage.duration, &stage.until) {
                (Some(d), _) => Some((d, false)),
                (None, Some(t)) => Some((t, true)),
                (None, None) => None,
            };
            match (end, i == last) {
                (Some((d, _)), true) => {
                    self.rep
                        .report(
                            Code::InvalidStages,
                            d.span,
                            "the last stage has no end",
                        )
                        .label("lasts until the rule's `until`, or for good")
                        .help("remove the duration or end time, or add the stage that follows it: `, 100%`");
                    ok = false;
                }
                (None, false) => {
                    self.rep
                        .report(
                            Code::InvalidStages,
                            stage.span,
                            format!("stage {} needs a duration or an end", i + 1),
                        )
                        .label("for how long?")
                        .help(format!(
                            "say how long it lasts, or when the next stage starts: `{0} for 1d` or `{0} until 2026-12-11T09:00:00Z`",
                            stage_percent_text(&stage.percent)
                        ));
                    ok = false;
                }
                (Some((t, true)), false) => match literal::timestamp(t) {
                    Ok(at) if at > starts => starts = at,
                    Ok(at) => {
                        self.rep
                            .report(
                                Code::InvalidStages,
                                t.span,
                                format!(
                                    "stage {} ends at {}, not after it starts at {}",
                                    i + 1,
                                    format_timestamp(at),
                                    format_timestamp(starts)
                                ),
                            )
                            .label("not after the stage's start")
                            .help("each stage ends after it starts: the times after `until` increase, after the rule's `from`");
                        ok = false;
                    }
                    Err(e) => {
                        self.literal_error(e, t.span, "not a time");
                        ok = false;
                    }
                },
                (Some((d, false)), false) => match literal::duration(d) {
                    Ok(micros) if micros > 0 => starts = starts.saturating_add(micros),
                    Ok(_) => {
                        self.rep
                            .report(Code::InvalidStages, d.span, "a stage lasts for no time")
                            .label("zero")
                            .help("give it a positive duration like `1h`, or remove the stage");
                        ok = false;
                    }
                    Err(e) => {
                        self.literal_error(e, d.span, "not a duration");
                        ok = false;
                    }
                },
                (None, true) => {}
            }
        }
        ok.then_some(lowered)
    }

    /// A stage's literal that is not what it must be.
    fn literal_error(&mut self, e: literal::LiteralError, span: Span, label: &str) {
        let r = self.rep.report(e.code, span, e.message).label(label);
        if let Some(h) = e.help {
            r.help(h);
        }
    }

    /// W0008: a staged rule whose last stage starts at or after the flag's
    /// `expires`, so the plan does not fit in the flag's life.
    pub(super) fn stages_fit(&mut self, ends: &[StagedEnd], expires: i64, expires_span: Span) {
        for end in ends {
            if end.last_starts >= expires {
                self.rep
                    .report(
                        Code::RolloutOutlivesFlag,
                        end.span,
                        format!(
                            "{} reaches its last stage at {}, after the flag expires",
                            end.what,
                            format_timestamp(end.last_starts)
                        ),
                    )
                    .label("last stage after the expiry")
                    .secondary(
                        expires_span,
                        format!("the flag expires at {}", format_timestamp(expires)),
                    )
                    .help("move `expires` later, or shorten the stages");
            }
        }
    }
}

fn stage_percent_text(lit: &ast::Literal) -> String {
    match &lit.kind {
        ast::LiteralKind::Percent(p) => format!("{p}%"),
        _ => "5%".to_string(),
    }
}

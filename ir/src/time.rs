//! Times as Vexil reads and prints them: an RFC 3339 timestamp or a bare
//! date (midnight UTC), held as microseconds since the Unix epoch. One
//! parser for every command-line option and context field, so that each
//! refusal states the same accepted forms and range.
//!
//! The range is RFC 3339's, the years 0000 to 9999 in UTC. Arithmetic goes
//! through jiff's civil datetimes rather than its `Timestamp`, whose range
//! stops at 9999-12-30T22:00:00Z (room for any offset): that would refuse
//! `9999-12-31T23:59:59Z`, the usual way of writing "never".

use std::fmt;

use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::temporal::Pieces;
use jiff::SignedDuration;

/// What a time may be written as, for messages and help texts.
pub const ACCEPTED_TIMES: &str = "an RFC 3339 timestamp like `2026-12-01T09:00:00Z` or a date like `2026-12-01` (midnight UTC), in the years 0000 to 9999";

const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);
const FIRST: DateTime = DateTime::constant(0, 1, 1, 0, 0, 0, 0);
const LAST: DateTime = DateTime::constant(9999, 12, 31, 23, 59, 59, 999_999_999);

/// Why a text is not a time Vexil accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError {
    detail: String,
}

impl TimeError {
    /// The parser's own account (which field is wrong), for messages that
    /// state the accepted forms elsewhere, as the compiler's E0206 does in
    /// its help line.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    fn new(detail: impl fmt::Display) -> TimeError {
        TimeError {
            detail: detail.to_string(),
        }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {ACCEPTED_TIMES}")
    }
}

impl std::error::Error for TimeError {}

/// Parse an RFC 3339 timestamp (any offset), or a bare date meaning
/// midnight UTC, into microseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, TimeError> {
    let utc = if text.len() <= 10 && !text.contains(['T', 't']) {
        let date: Date = text.parse().map_err(TimeError::new)?;
        date.to_datetime(Time::midnight())
    } else {
        let pieces = Pieces::parse(text).map_err(TimeError::new)?;
        let time = pieces
            .time()
            .ok_or_else(|| TimeError::new("a timestamp needs a time of day"))?;
        let offset = pieces.to_numeric_offset().ok_or_else(|| {
            TimeError::new("a timestamp needs an offset from UTC, like `Z` or `+02:00`")
        })?;
        let local = DateTime::from_parts(pieces.date(), time);
        local
            .checked_sub(SignedDuration::from_secs(i64::from(offset.seconds())))
            .map_err(|_| out_of_range())?
    };
    if !(FIRST..=LAST).contains(&utc) {
        return Err(out_of_range());
    }
    i64::try_from(utc.duration_since(EPOCH).as_micros()).map_err(|_| out_of_range())
}

fn out_of_range() -> TimeError {
    TimeError::new("outside the years 0000 to 9999 (UTC)")
}

/// [`parse_time`] with the parser's own account as the error, for the
/// compiler's E0206, whose help line states the accepted forms.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    parse_time(text).map_err(|e| e.detail)
}

/// Format microseconds since the epoch as RFC 3339 in UTC.
pub fn format_timestamp(micros: i64) -> String {
    match EPOCH.checked_add(SignedDuration::from_micros(micros)) {
        // Civil time at UTC is the instant; `Z` makes it a timestamp.
        Ok(utc) => format!("{utc}Z"),
        Err(_) => format!("<out of range: {micros}µs>"),
    }
}

/// The current time, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within jiff's `Timestamp` range, the same instants as its parser.
    #[test]
    fn agrees_with_jiff_timestamps() {
        for text in [
            "2026-12-01T09:00:00Z",
            "2026-12-01T09:00:00+02:00",
            "2026-12-01t09:00:00.123456z",
            "2026-12-01 09:00:00-05:30",
            "1969-07-20T20:17:40Z",
            "0001-01-01T00:00:00Z",
            "2024-03-10T02:05-04[America/New_York]",
        ] {
            let jiff: jiff::Timestamp = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parse_time(text), Ok(jiff.as_microsecond()), "{text}");
            assert_eq!(format_timestamp(jiff.as_microsecond()), jiff.to_string());
        }
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000_000));
        assert_eq!(format_timestamp(86_400_000_000), "1970-01-02T00:00:00Z");
    }

    /// The end of RFC 3339's range, past jiff's `Timestamp::MAX`.
    #[test]
    fn the_last_second_of_9999_is_a_time() {
        let last = parse_time("9999-12-31T23:59:59Z");
        assert_eq!(last, Ok(253_402_300_799_000_000));
        assert_eq!(
            format_timestamp(253_402_300_799_000_000),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(parse_time("9999-12-31"), Ok(253_402_214_400_000_000));
        assert_eq!(
            parse_time("0000-01-01T00:00:00Z"),
            Ok(-62_167_219_200_000_000)
        );
    }

    #[test]
    fn refusals_say_what_is_accepted() {
        for text in [
            "tomorrow",
            "2026-13-01",
            "2026-12-01T09:00:00",
            "9999-12-31T23:59:59-01:00",
            "0000-01-01T00:00:00+01:00",
            "-000001-01-01T00:00:00Z",
            "",
        ] {
            let e = parse_time(text).expect_err(text);
            assert_eq!(
                e.to_string(),
                format!("expected {ACCEPTED_TIMES}"),
                "{text}"
            );
        }
        assert_eq!(
            parse_time("9999-12-31T23:59:59-01:00").map_err(|e| e.detail().to_string()),
            Err("outside the years 0000 to 9999 (UTC)".to_string())
        );
        assert_eq!(
            parse_time("2026-12-01T09:00:00").map_err(|e| e.detail().to_string()),
            Err("a timestamp needs an offset from UTC, like `Z` or `+02:00`".to_string())
        );
    }
}

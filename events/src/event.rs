//! The two kinds of experiment event: an exposure (a unit was assigned a
//! variant, as the runtime's sinks report it) and a tracked metric event
//! (`track(event, unit, value, time, properties)`). Times are microseconds
//! since the epoch, like everywhere else in Vexil.

use serde::{Deserialize, Serialize};

use crate::id::{derived_exposure_id, derived_track_id, given_id, EventId, Kind};

/// A unit was assigned `variant` of `experiment` at `time`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    /// The producer's id for idempotence; without one the id is derived
    /// from the other fields (see `SCHEMA.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The experiment's name.
    pub experiment: String,
    /// The variant the unit was assigned.
    pub variant: String,
    /// The bucketing unit's value (ints as decimal text).
    pub unit: String,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A metric event: `unit` did `event` at `time`, with a numeric `value`
/// (1 when the producer gives none, so `mean` and `ratio` of valueless
/// events count them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The producer's id for idempotence, as for an [`Exposure`].
    pub id: Option<String>,
    /// The event's name, as metrics name it.
    pub event: String,
    /// The unit that did it (ints as decimal text).
    pub unit: String,
    /// Its value: an amount, a duration, or 1.
    pub value: f64,
    /// Microseconds since the epoch.
    pub time: i64,
    /// Free-form attributes, kept with the event; metrics do not read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Track {
    /// A metric event without an id or properties.
    pub fn new(event: &str, unit: &str, value: f64, time: i64) -> Track {
        Track {
            id: None,
            event: event.to_string(),
            unit: unit.to_string(),
            value,
            time,
            properties: None,
        }
    }
}

impl Exposure {
    /// An exposure without an id.
    pub fn new(experiment: &str, variant: &str, unit: &str, time: i64) -> Exposure {
        Exposure {
            id: None,
            experiment: experiment.to_string(),
            variant: variant.to_string(),
            unit: unit.to_string(),
            time,
        }
    }
}

impl From<vexil_runtime::OwnedExposure> for Exposure {
    fn from(e: vexil_runtime::OwnedExposure) -> Exposure {
        Exposure {
            id: None,
            experiment: e.experiment,
            variant: e.variant,
            unit: e.unit,
            time: e.time,
        }
    }
}

/// Either kind of event.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// An assignment to a variant.
    Exposure(Exposure),
    /// A metric event.
    Track(Track),
}

impl From<Exposure> for Event {
    fn from(e: Exposure) -> Event {
        Event::Exposure(e)
    }
}

impl From<Track> for Event {
    fn from(t: Track) -> Event {
        Event::Track(t)
    }
}

/// A borrowed event ready for the store: what both the JSON Lines reader
/// and the in-process API produce, so they share one insert path.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Row<'a> {
    Exposure {
        id: EventId,
        /// Whether `id` digests a producer's id (checked against
        /// `producer_ids`) rather than the fields.
        producer_id: bool,
        experiment: &'a str,
        variant: &'a str,
        unit: &'a str,
        time: i64,
    },
    Track {
        id: EventId,
        producer_id: bool,
        event: &'a str,
        unit: &'a str,
        value: f64,
        time: i64,
        /// Canonical JSON text of the properties object.
        properties: Option<&'a str>,
    },
}

impl Row<'_> {
    pub(crate) fn id(&self) -> &EventId {
        match self {
            Row::Exposure { id, .. } | Row::Track { id, .. } => id,
        }
    }

    pub(crate) fn producer_id(&self) -> bool {
        match self {
            Row::Exposure { producer_id, .. } | Row::Track { producer_id, .. } => *producer_id,
        }
    }

    /// The row's position in its table's primary key (exposures first).
    pub(crate) fn sort_key(&self) -> (u8, &str, &str, i64, &EventId) {
        match self {
            Row::Exposure {
                experiment,
                unit,
                time,
                id,
                ..
            } => (0, experiment, unit, *time, id),
            Row::Track {
                unit,
                event,
                time,
                id,
                ..
            } => (1, unit, event, *time, id),
        }
    }
}

impl Event {
    /// Checks the fields the store relies on; the reason names the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self {
            Event::Exposure(e) => {
                non_empty("experiment", &e.experiment)?;
                non_empty("variant", &e.variant)?;
                non_empty("unit", &e.unit)
            }
            Event::Track(t) => {
                non_empty("event", &t.event)?;
                non_empty("unit", &t.unit)?;
                finite_value(t.value)
            }
        }
    }

    /// The stored form; `properties` is the canonical text of the track's
    /// properties, computed by the caller so that it outlives the row.
    pub(crate) fn row<'a>(&'a self, properties: Option<&'a str>) -> Row<'a> {
        match self {
            Event::Exposure(e) => Row::Exposure {
                producer_id: e.id.is_some(),
                id: match &e.id {
                    Some(id) => given_id(Kind::Exposure, id),
                    None => derived_exposure_id(&e.experiment, &e.variant, &e.unit, e.time),
                },
                experiment: &e.experiment,
                variant: &e.variant,
                unit: &e.unit,
                time: e.time,
            },
            Event::Track(t) => Row::Track {
                producer_id: t.id.is_some(),
                id: match &t.id {
                    Some(id) => given_id(Kind::Track, id),
                    None => derived_track_id(&t.event, &t.unit, t.time, t.value, properties),
                },
                event: &t.event,
                unit: &t.unit,
                value: t.value,
                time: t.time,
                properties,
            },
        }
    }
}

/// A name the store keeps as text: not empty, and without U+0000, which
/// PostgreSQL's text cannot hold (refused on every store, so a line is
/// good or bad whichever store it goes to).
pub(crate) fn non_empty(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err(format!("`{field}` is empty"))
    } else if value.contains('\0') {
        Err(format!(
            "`{field}` contains the character U+0000 (NUL), which no store keeps"
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn finite_value(value: f64) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("`value` must be a finite number, got `{value}`"))
    }
}

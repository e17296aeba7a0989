//! What each metric counts: windows after the first exposure, events before
//! it, units in two variants, the CUPED pre-period; and the store's sums
//! (`Store::aggregate`: SQLite's scan in Rust) and the portable query's
//! (`Store::aggregate_sql`) equal a straightforward computation over the
//! same events (property). Every check runs on both stores, SQLite and
//! PostgreSQL, which must agree.

// The tests run once per store through helpers, which clippy does not
// see as tests.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use support::{fresh, BACKENDS};
use vexil_events::{Aggregates, Event, Exposure, MetricSpec, Store, StoreError, Sums, Track, DAY};
use vexil_ir as ir;

fn metric(name: &str, kind: ir::MetricKind, window: Option<i64>) -> ir::Metric {
    ir::Metric {
        name: name.to_string(),
        role: ir::MetricRole::Primary,
        kind,
        goal: ir::Goal::Increase,
        window,
        threshold: None,
    }
}

fn conversion(event: &str, window: Option<i64>) -> ir::Metric {
    metric(
        "m",
        ir::MetricKind::Conversion {
            event: event.into(),
        },
        window,
    )
}

/// The same events in both stores.
struct Stores(Vec<Store>);

impl Stores {
    fn filled_with(mut self, events: Vec<Event>) -> Stores {
        for store in &mut self.0 {
            let report = store.ingest(&events).expect("ingests");
            assert_eq!(report.rejected, 0, "{:?}", report.errors);
        }
        self
    }

    /// Aggregates on every store; they must agree (sums to a relative
    /// 1e-9, the rest exactly). SQLite's result.
    fn aggregate(&self, experiment: &str, specs: &[MetricSpec]) -> Result<Aggregates, StoreError> {
        agreed(
            self.0
                .iter()
                .map(|store| store.aggregate(experiment, specs))
                .collect::<Result<_, _>>()?,
        )
    }

    /// The portable query on every store (SQLite's own aggregation, and
    /// PostgreSQL's, are scans in Rust instead); they must agree.
    fn aggregate_sql(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        agreed(
            self.0
                .iter()
                .map(|store| store.aggregate_sql(experiment, specs))
                .collect::<Result<_, _>>()?,
        )
    }
}

/// The first of `results`, after checking that the others equal it.
fn agreed(mut results: Vec<Aggregates>) -> Result<Aggregates, StoreError> {
    let first = results.remove(0);
    for other in &results {
        assert_eq!(first.mixed_units, other.mixed_units);
        assert_eq!(first.cells.len(), other.cells.len(), "{first:?}\n{other:?}");
        for (a, b) in first.cells.iter().zip(&other.cells) {
            assert_eq!((&a.variant, a.day, a.units), (&b.variant, b.day, b.units));
            for (x, y) in a.metrics.iter().zip(&b.metrics) {
                assert!(same(x, y), "the stores disagree: {x:?} != {y:?}");
            }
        }
    }
    Ok(first)
}

fn store_with(events: Vec<Event>) -> Stores {
    filled(
        BACKENDS.iter().map(|&backend| fresh(backend)).collect(),
        events,
    )
}

fn filled(stores: Vec<Store>, events: Vec<Event>) -> Stores {
    Stores(stores).filled_with(events)
}

/// For the property test, whose cases run one after the other: one
/// PostgreSQL database, emptied for each case (creating a database per
/// case would take most of the test's time).
fn reused_store_with(events: Vec<Event>) -> Stores {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let url = URL.get_or_init(support::postgres_url);
    let postgres = Store::open(url.as_ref()).expect("the test database");
    support::postgres_query(url, "TRUNCATE exposures, events, producer_ids");
    let stores = filled(vec![fresh(support::Backend::Sqlite), postgres], events);
    // Statistics, as after a bulk load: the scan then sends every event
    // when most units are enrolled, else only the enrolled units' (without
    // statistics, always those), and the cases take both ways.
    support::postgres_query(url, "ANALYZE exposures, events");
    stores
}

/// Per-variant totals of the only metric.
fn totals(store: &Stores, m: &ir::Metric, cuped: bool) -> BTreeMap<String, (u64, Sums)> {
    let spec = MetricSpec::from_ir(m, cuped);
    let agg = store.aggregate("x", &[spec]).expect("aggregates");
    let mut out = BTreeMap::new();
    for variant in ["a", "b"] {
        if let Some((n, sums)) = agg.variant_total(variant) {
            out.insert(variant.to_string(), (n, sums[0]));
        }
    }
    out
}

#[test]
fn a_conversion_counts_only_inside_the_window_after_the_first_exposure() {
    let t0 = 100 * DAY;
    let store = store_with(vec![
        Exposure::new("x", "a", "early", t0).into(),
        Track::new("buy", "early", 1.0, t0 - 1).into(), // before exposure
        Exposure::new("x", "a", "late", t0).into(),
        Track::new("buy", "late", 1.0, t0 + 7 * DAY).into(), // window is [t0, t0 + 7d)
        Exposure::new("x", "a", "edge", t0).into(),
        Track::new("buy", "edge", 1.0, t0).into(), // at exposure: counts
        Exposure::new("x", "a", "inside", t0).into(),
        Track::new("buy", "inside", 1.0, t0 + 7 * DAY - 1).into(),
        Track::new("buy", "inside", 1.0, t0 + 2 * DAY).into(), // twice is still one conversion
        Exposure::new("x", "a", "idle", t0).into(),
        Track::new("view", "idle", 1.0, t0 + DAY).into(), // another event
        Track::new("buy", "stranger", 1.0, t0 + DAY).into(), // never exposed
    ]);
    let t = totals(&store, &conversion("buy", Some(7 * DAY)), false);
    let (n, s) = t["a"];
    assert_eq!(n, 5);
    assert_eq!((s.sum, s.sum_squares), (2.0, 2.0)); // edge and inside
                                                    // Without a window, the late purchase counts too.
    let t = totals(&store, &conversion("buy", None), false);
    assert_eq!(t["a"].1.sum, 3.0);
}

#[test]
fn the_window_starts_at_the_first_exposure_not_a_later_one() {
    let t0 = 100 * DAY;
    let store = store_with(vec![
        Exposure::new("x", "a", "u", t0).into(),
        Exposure::new("x", "a", "u", t0 + 10 * DAY).into(), // seen again
        Track::new("buy", "u", 1.0, t0 + 8 * DAY).into(),   // after the first window
    ]);
    let t = totals(&store, &conversion("buy", Some(7 * DAY)), false);
    assert_eq!(t["a"], (1, Sums::default()));
}

#[test]
fn units_in_two_variants_are_left_out() {
    let store = store_with(vec![
        Exposure::new("x", "a", "both", 10).into(),
        Exposure::new("x", "b", "both", 20).into(),
        Exposure::new("x", "a", "one", 10).into(),
        Exposure::new("y", "b", "one", 10).into(), // another experiment
    ]);
    let spec = MetricSpec::from_ir(&conversion("buy", None), false);
    let agg = store.aggregate("x", &[spec]).unwrap();
    assert_eq!(agg.mixed_units, 1);
    assert_eq!(agg.variant_total("a").map(|t| t.0), Some(1));
    assert_eq!(agg.variant_total("b"), None);
}

/// Names that SQL must quote, a unit left out (two variants) between
/// enrolled ones with events of its own, and another experiment's unit:
/// PostgreSQL streams the units' events in order beside the exposures and
/// must skip exactly those.
#[test]
fn quoted_names_and_units_left_out_between_others() {
    let x = "it's \\ x";
    let spend = "spent 'it' \\";
    let store = store_with(vec![
        Exposure::new(x, "a", "u1", 10).into(),
        Track::new(spend, "u1", 2.0, 11).into(),
        Exposure::new(x, "a", "u2", 10).into(),
        Exposure::new(x, "b", "u2", 12).into(), // two variants: left out
        Track::new(spend, "u2", 5.0, 13).into(),
        Exposure::new("other", "a", "u3", 10).into(),
        Track::new(spend, "u3", 7.0, 14).into(), // not in `x`
        Exposure::new(x, "b", "u4", 10).into(),
        Track::new(spend, "u4", 3.0, 15).into(),
        Track::new(spend, "u4", 1.0, 16).into(),
        Track::new("other", "u4", 1.0, 16).into(),
    ]);
    let mean = metric(
        "spend",
        ir::MetricKind::Mean {
            event: spend.into(),
        },
        None,
    );
    let specs = [MetricSpec::from_ir(&mean, false)];
    for agg in [
        store.aggregate(x, &specs).unwrap(),
        store.aggregate_sql(x, &specs).unwrap(),
    ] {
        assert_eq!(agg.mixed_units, 1);
        let a = agg.variant_total("a").unwrap();
        let b = agg.variant_total("b").unwrap();
        assert_eq!((a.0, a.1[0].sum), (1, 2.0));
        assert_eq!((b.0, b.1[0].sum), (1, 4.0));
    }
}

#[test]
fn means_and_ratios_sum_values_per_unit() {
    let t0 = 100 * DAY;
    let store = store_with(vec![
        Exposure::new("x", "a", "u1", t0).into(),
        Track::new("spend", "u1", 10.0, t0 + 1).into(),
        Track::new("spend", "u1", 5.0, t0 + 2).into(),
        Track::new("spend", "u1", 100.0, t0 - 1).into(), // before exposure
        Track::new("visit", "u1", 1.0, t0 + 3).into(),
        Track::new("visit", "u1", 1.0, t0 + 4).into(),
        Exposure::new("x", "a", "u2", t0).into(), // no events: a zero
        Exposure::new("x", "a", "u3", t0).into(),
        Track::new("visit", "u3", 1.0, t0 + 5).into(),
    ]);
    let mean = metric(
        "spend",
        ir::MetricKind::Mean {
            event: "spend".into(),
        },
        None,
    );
    let (n, s) = totals(&store, &mean, false)["a"];
    assert_eq!((n, s.sum, s.sum_squares), (3, 15.0, 225.0));
    let ratio = metric(
        "spend-per-visit",
        ir::MetricKind::Ratio {
            numerator: "spend".into(),
            denominator: "visit".into(),
        },
        None,
    );
    let (_, s) = totals(&store, &ratio, true)["a"];
    assert_eq!((s.sum, s.denominator_sum), (15.0, 3.0));
    assert_eq!((s.denominator_sum_squares, s.cross_sum), (5.0, 30.0));
    assert_eq!(s.pre_sum, 0.0, "ratios have no covariate");
}

#[test]
fn the_cuped_covariate_is_the_same_metric_in_the_window_before_exposure() {
    let t0 = 100 * DAY;
    let store = store_with(vec![
        Exposure::new("x", "a", "u1", t0).into(),
        Track::new("spend", "u1", 4.0, t0 - DAY).into(), // in the 14 days before
        Track::new("spend", "u1", 8.0, t0 - 15 * DAY).into(), // before the pre-period
        Track::new("spend", "u1", 3.0, t0 + DAY).into(),
        Exposure::new("x", "a", "u2", t0).into(),
        Track::new("spend", "u2", 2.0, t0 - 14 * DAY).into(), // first instant of it
    ]);
    let mean = metric(
        "spend",
        ir::MetricKind::Mean {
            event: "spend".into(),
        },
        None,
    );
    let (_, s) = totals(&store, &mean, true)["a"];
    assert_eq!(
        (s.pre_sum, s.pre_sum_squares, s.pre_cross_sum),
        (6.0, 20.0, 12.0)
    );
    // A conversion's covariate: did the unit convert in its window before.
    let (_, s) = totals(&store, &conversion("spend", Some(DAY)), true)["a"];
    // t0 + 1d is outside [t0, t0 + 1d); t0 - 1d is inside [t0 - 1d, t0).
    assert_eq!((s.sum, s.pre_sum), (0.0, 1.0));
    let (_, s) = totals(&store, &conversion("spend", Some(2 * DAY)), true)["a"];
    assert_eq!((s.sum, s.pre_sum, s.pre_cross_sum), (1.0, 1.0, 1.0));
}

#[test]
fn units_are_grouped_by_the_day_of_their_first_exposure() {
    let store = store_with(vec![
        Exposure::new("x", "a", "u1", 3 * DAY + 5).into(),
        Exposure::new("x", "a", "u2", 3 * DAY + DAY - 1).into(),
        Exposure::new("x", "a", "u3", 4 * DAY).into(),
        Exposure::new("x", "a", "u3", 2 * DAY).into(), // its first exposure
    ]);
    let spec = MetricSpec::from_ir(&conversion("buy", None), false);
    let agg = store.aggregate("x", &[spec]).unwrap();
    let days: Vec<(i64, u64)> = agg.cells.iter().map(|c| (c.day, c.units)).collect();
    assert_eq!(days, vec![(2 * DAY, 1), (3 * DAY, 2)]);
}

// ---------------------------------------------------------------- property

#[derive(Clone, Debug)]
struct Case {
    exposures: Vec<(usize, usize, i64)>,
    tracks: Vec<(usize, usize, i64, f64)>,
    window: Option<i64>,
}

const UNITS: usize = 12;
const EVENTS: [&str; 3] = ["buy", "view", "spend"];
const VARIANTS: [&str; 2] = ["a", "b"];

fn case() -> impl Strategy<Value = Case> {
    let time = 0i64..(6 * DAY);
    let exposures = prop::collection::vec((0..UNITS, 0..2usize, time.clone()), 0..30);
    let tracks = prop::collection::vec((0..UNITS, 0..EVENTS.len(), time, -50.0f64..50.0), 0..80);
    let window = prop::option::of(1..(3 * DAY));
    (exposures, tracks, window).prop_map(|(exposures, tracks, window)| Case {
        exposures,
        tracks,
        window,
    })
}

/// The reference: per unit, its first exposure and variant; per metric, a
/// loop over the unit's events.
fn reference(case: &Case, spec: &MetricSpec) -> BTreeMap<&'static str, (u64, Sums)> {
    let mut first: BTreeMap<usize, (i64, Vec<usize>)> = BTreeMap::new();
    for &(u, v, t) in &case.exposures {
        let e = first.entry(u).or_insert((t, Vec::new()));
        e.0 = e.0.min(t);
        if !e.1.contains(&v) {
            e.1.push(v);
        }
    }
    let value = |u: usize, event: &str, from: i64, to: Option<i64>, conversion: bool| -> f64 {
        let hits = case.tracks.iter().filter(|&&(tu, te, t, _)| {
            tu == u && EVENTS[te] == event && t >= from && to.is_none_or(|to| t < to)
        });
        if conversion {
            if hits.count() > 0 {
                1.0
            } else {
                0.0
            }
        } else {
            hits.map(|&(_, _, _, v)| v).sum()
        }
    };
    let mut out: BTreeMap<&'static str, (u64, Sums)> = BTreeMap::new();
    for (&u, (t0, variants)) in &first {
        if variants.len() != 1 {
            continue;
        }
        let entry = out.entry(VARIANTS[variants[0]]).or_default();
        entry.0 += 1;
        let s = &mut entry.1;
        let post_to = spec.window.map(|w| t0 + w);
        match &spec.kind {
            ir::MetricKind::Conversion { event } | ir::MetricKind::Mean { event } => {
                let conv = matches!(spec.kind, ir::MetricKind::Conversion { .. });
                let m = value(u, event, *t0, post_to, conv);
                s.sum += m;
                s.sum_squares += m * m;
                if let Some(pre) = spec.pre_period {
                    let p = value(u, event, t0 - pre, Some(*t0), conv);
                    s.pre_sum += p;
                    s.pre_sum_squares += p * p;
                    s.pre_cross_sum += p * m;
                }
            }
            ir::MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                let m = value(u, numerator, *t0, post_to, false);
                let d = value(u, denominator, *t0, post_to, false);
                s.sum += m;
                s.sum_squares += m * m;
                s.denominator_sum += d;
                s.denominator_sum_squares += d * d;
                s.cross_sum += m * d;
            }
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn same(a: &Sums, b: &Sums) -> bool {
    close(a.sum, b.sum)
        && close(a.sum_squares, b.sum_squares)
        && close(a.denominator_sum, b.denominator_sum)
        && close(a.denominator_sum_squares, b.denominator_sum_squares)
        && close(a.cross_sum, b.cross_sum)
        && close(a.pre_sum, b.pre_sum)
        && close(a.pre_sum_squares, b.pre_sum_squares)
        && close(a.pre_cross_sum, b.pre_cross_sum)
}

fn sql_sums_equal_a_plain_computation(case: &Case, postgres: bool) -> Result<(), TestCaseError> {
    let mut events: Vec<Event> = case
        .exposures
        .iter()
        .map(|&(u, v, t)| Exposure::new("x", VARIANTS[v], &format!("u{u}"), t).into())
        .collect();
    // Distinct ids, so that equal events are all kept as the reference
    // counts them.
    events.extend(
        case.tracks
            .iter()
            .enumerate()
            .map(|(i, &(u, e, t, value))| {
                Track {
                    id: Some(format!("t{i}")),
                    ..Track::new(EVENTS[e], &format!("u{u}"), value, t)
                }
                .into()
            }),
    );
    let store = if postgres {
        reused_store_with(events)
    } else {
        Stores(vec![fresh(support::Backend::Sqlite)]).filled_with(events)
    };
    let metrics = [
        conversion("buy", case.window),
        metric(
            "spend",
            ir::MetricKind::Mean {
                event: "spend".into(),
            },
            case.window,
        ),
        metric(
            "ratio",
            ir::MetricKind::Ratio {
                numerator: "spend".into(),
                denominator: "view".into(),
            },
            case.window,
        ),
    ];
    for cuped in [false, true] {
        let specs: Vec<MetricSpec> = metrics
            .iter()
            .map(|m| MetricSpec::from_ir(m, cuped))
            .collect();
        // The store's own computation (a scan in Rust) and the portable
        // query: the same cells (variant, day, units), the same units left
        // out, and each equal to the reference.
        let computed = store.aggregate("x", &specs).unwrap();
        let portable = store.aggregate_sql("x", &specs).unwrap();
        prop_assert_eq!(computed.mixed_units, portable.mixed_units);
        let shape = |a: &vexil_events::Aggregates| -> Vec<(String, i64, u64)> {
            a.cells
                .iter()
                .map(|c| (c.variant.clone(), c.day, c.units))
                .collect()
        };
        prop_assert_eq!(shape(&computed), shape(&portable));
        for agg in [&computed, &portable] {
            for (i, spec) in specs.iter().enumerate() {
                let expected = reference(case, spec);
                for variant in VARIANTS {
                    let got = agg.variant_total(variant).map(|(n, s)| (n, s[i]));
                    let want = expected.get(variant).copied();
                    match (got, want) {
                        (None, None) => {}
                        (Some((n, s)), Some((wn, ws))) => {
                            prop_assert_eq!(n, wn);
                            prop_assert!(same(&s, &ws), "{} {variant}: {s:?} != {ws:?}", spec.name);
                        }
                        other => prop_assert!(false, "{variant}: {other:?}"),
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sql_sums_equal_a_plain_computation_on_sqlite(case in case()) {
        sql_sums_equal_a_plain_computation(&case, false)?;
    }
}

proptest! {
    // Fewer cases: each is a round of PostgreSQL statements (about a second
    // on the shared 2-core machine); both stores must agree on each.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn sql_sums_equal_a_plain_computation_on_both_stores(case in case()) {
        sql_sums_equal_a_plain_computation(&case, true)?;
    }
}

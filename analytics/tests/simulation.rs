//! Operating characteristics by simulation: false-positive rates without an
//! effect, with and without peeking, and interval coverage with a known
//! effect. Experiments are simulated directly as sufficient statistics
//! (binomial counts; normal sums with chi-square spreads), which is exact for
//! the simulated distributions and keeps 1,000 experiments fast in debug.

#![allow(clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Binomial, ChiSquared, Distribution, Normal};
use vexil_analytics::{analyze, AnalysisInput, AnalysisOutput, MetricKind, VariantInput};

const EXPERIMENTS: usize = 1000;
const ALPHA: f64 = 0.05;

/// Sufficient statistics accumulated over days for one arm.
#[derive(Clone, Copy, Default)]
struct Totals {
    n: f64,
    sum: f64,
    sum_squares: f64,
}

impl Totals {
    /// Adds `n` units of N(mean, sd²) data: the sum is normal and the
    /// centred sum of squares is sd²·χ²(n−1), independent of it.
    fn add_normal(&mut self, rng: &mut StdRng, n: u64, mean: f64, sd: f64) {
        let nf = n as f64;
        let sum = Normal::new(nf * mean, sd * nf.sqrt()).unwrap().sample(rng);
        let centred = sd * sd * ChiSquared::new(nf - 1.0).unwrap().sample(rng);
        self.n += nf;
        self.sum += sum;
        self.sum_squares += centred + sum * sum / nf;
    }

    /// Adds `n` Bernoulli(p) units.
    fn add_binary(&mut self, rng: &mut StdRng, n: u64, p: f64) {
        let conversions = Binomial::new(n, p).unwrap().sample(rng) as f64;
        self.n += n as f64;
        self.sum += conversions;
        self.sum_squares += conversions;
    }

    fn variant(self, name: &str) -> VariantInput {
        VariantInput {
            name: name.into(),
            n: self.n,
            sum: self.sum,
            sum_squares: Some(self.sum_squares),
            denominator_sum: None,
            denominator_sum_squares: None,
            cross_sum: None,
            pre_sum: None,
            pre_sum_squares: None,
            pre_cross_sum: None,
        }
    }
}

fn request(metric: MetricKind, control: Totals, treatment: Totals) -> AnalysisInput {
    AnalysisInput {
        metric,
        alpha: ALPHA,
        weights: None,
        variants: vec![control.variant("control"), treatment.variant("treatment")],
        sequential: true,
        sequential_tuning: 5000.0,
        correction: None,
        inverse: false,
        bayes_prior: None,
        bayes_scale: Default::default(),
        bayes_method: Default::default(),
        beta_prior: None,
    }
}

fn run(metric: MetricKind, control: Totals, treatment: Totals) -> AnalysisOutput {
    analyze(&request(metric, control, treatment)).unwrap()
}

fn rate(count: usize) -> f64 {
    count as f64 / EXPERIMENTS as f64
}

/// Three binomial standard errors around the nominal rate: a correct method
/// fails this about 3 times in 1,000 seeds, and the seeds are fixed.
fn binomial_band(nominal: f64) -> (f64, f64) {
    let se = (nominal * (1.0 - nominal) / EXPERIMENTS as f64).sqrt();
    (nominal - 3.0 * se, nominal + 3.0 * se)
}

#[test]
fn aa_tests_reject_at_the_nominal_rate() {
    let mut rng = StdRng::seed_from_u64(1);
    let (mut conversion_hits, mut mean_hits) = (0, 0);
    for _ in 0..EXPERIMENTS {
        let (mut a, mut b) = (Totals::default(), Totals::default());
        a.add_binary(&mut rng, 2000, 0.1);
        b.add_binary(&mut rng, 2000, 0.1);
        let out = run(MetricKind::Proportion, a, b);
        conversion_hits += usize::from(out.variants[0].absolute.p_value < ALPHA);

        let (mut a, mut b) = (Totals::default(), Totals::default());
        a.add_normal(&mut rng, 500, 20.0, 8.0);
        b.add_normal(&mut rng, 500, 20.0, 8.0);
        let out = run(MetricKind::Mean, a, b);
        mean_hits += usize::from(out.variants[0].absolute.p_value < ALPHA);
    }
    for (label, hits) in [("conversion", conversion_hits), ("mean", mean_hits)] {
        let r = rate(hits);
        eprintln!("{label} A/A false-positive rate: {r}");
        assert!(
            (0.035..=0.065).contains(&r),
            "{label} A/A false-positive rate {r}"
        );
    }
}

#[test]
fn sequential_testing_survives_daily_peeking() {
    let mut rng = StdRng::seed_from_u64(2);
    let (mut fixed_hits, mut sequential_hits) = (0, 0);
    for _ in 0..EXPERIMENTS {
        let (mut a, mut b) = (Totals::default(), Totals::default());
        let (mut fixed, mut sequential) = (false, false);
        for _day in 0..14 {
            a.add_normal(&mut rng, 200, 20.0, 8.0);
            b.add_normal(&mut rng, 200, 20.0, 8.0);
            let out = run(MetricKind::Mean, a, b);
            let v = &out.variants[0];
            fixed |= v.absolute.p_value < ALPHA;
            sequential |= v.sequential.as_ref().unwrap().absolute.p_value < ALPHA;
        }
        fixed_hits += usize::from(fixed);
        sequential_hits += usize::from(sequential);
    }
    let (fixed, sequential) = (rate(fixed_hits), rate(sequential_hits));
    eprintln!("14 peeks: fixed-horizon {fixed}, sequential {sequential}");
    assert!(fixed > 0.10, "peeking at a fixed-horizon test: {fixed}");
    assert!(
        sequential <= 0.05,
        "peeking at the mixture SPRT: {sequential}"
    );
}

#[test]
fn intervals_cover_a_known_effect() {
    let mut rng = StdRng::seed_from_u64(3);
    let (true_abs, true_rel) = (0.5, 0.5 / 20.0);
    let (conv_abs, conv_rel) = (0.012, 0.012 / 0.1);
    let mut covered = [0usize; 6];
    let mut sequential_covered_throughout = 0;
    for _ in 0..EXPERIMENTS {
        let (mut a, mut b) = (Totals::default(), Totals::default());
        let mut always = true;
        for _day in 0..7 {
            a.add_normal(&mut rng, 150, 20.0, 8.0);
            b.add_normal(&mut rng, 150, 20.5, 8.0);
            let seq = run(MetricKind::Mean, a, b).variants[0].sequential.unwrap();
            always &= seq.absolute.ci_lower <= true_abs && true_abs <= seq.absolute.ci_upper;
        }
        sequential_covered_throughout += usize::from(always);
        let v = &run(MetricKind::Mean, a, b).variants[0];
        let within = |lo: f64, hi: f64, x: f64| usize::from(lo <= x && x <= hi);
        covered[0] += within(v.absolute.ci_lower, v.absolute.ci_upper, true_abs);
        covered[1] += within(v.relative.ci_lower, v.relative.ci_upper, true_rel);
        covered[2] += within(v.bayes.ci_lower, v.bayes.ci_upper, true_rel);

        let (mut a, mut b) = (Totals::default(), Totals::default());
        a.add_binary(&mut rng, 3000, 0.1);
        b.add_binary(&mut rng, 3000, 0.112);
        let v = &run(MetricKind::Proportion, a, b).variants[0];
        covered[3] += within(v.absolute.ci_lower, v.absolute.ci_upper, conv_abs);
        covered[4] += within(v.relative.ci_lower, v.relative.ci_upper, conv_rel);
        covered[5] += within(v.bayes.ci_lower, v.bayes.ci_upper, conv_rel);
    }
    let (lo, hi) = binomial_band(1.0 - ALPHA);
    let labels = [
        "mean absolute CI",
        "mean relative CI",
        "mean credible interval",
        "conversion absolute CI",
        "conversion relative CI",
        "conversion credible interval",
    ];
    for (label, hits) in labels.iter().zip(covered) {
        let r = rate(hits);
        eprintln!("{label} coverage: {r}");
        assert!(
            (lo..=hi).contains(&r),
            "{label} coverage {r} outside [{lo}, {hi}]"
        );
    }
    // A confidence sequence covers at every peek simultaneously, so its
    // coverage over 7 peeks is at least nominal.
    let r = rate(sequential_covered_throughout);
    eprintln!("confidence sequence coverage over 7 peeks: {r}");
    assert!(r >= 1.0 - ALPHA, "confidence sequence coverage {r}");
}

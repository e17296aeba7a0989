//! Composite Gauss–Legendre quadrature over caller-chosen panels, for the
//! one-dimensional integrals of the exact Beta–binomial method. The caller
//! places panel breaks where the integrand changes fastest (posterior
//! quantiles), which is what makes a fixed rule accurate here.

use std::sync::OnceLock;

/// Nodes per panel. 16 points integrate polynomials of degree 31 exactly;
/// with quantile-placed panels that is ample for smooth posteriors.
const ORDER: usize = 16;

/// Gauss–Legendre nodes and weights on [-1, 1].
struct Rule {
    nodes: [f64; ORDER],
    weights: [f64; ORDER],
}

/// Nodes are the roots of the Legendre polynomial P_16, found by Newton's
/// method from the Chebyshev-like starting guesses; computed once. (No
/// well-kept crate offers a small fixed rule without pulling in nalgebra's
/// eigen-solver, and the recurrence is a dozen lines.)
fn rule() -> &'static Rule {
    static RULE: OnceLock<Rule> = OnceLock::new();
    RULE.get_or_init(|| {
        let n = ORDER as f64;
        let mut nodes = [0.0; ORDER];
        let mut weights = [0.0; ORDER];
        for (i, (node, weight)) in nodes.iter_mut().zip(weights.iter_mut()).enumerate() {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n + 0.5)).cos();
            let mut derivative = 1.0;
            for _ in 0..100 {
                // Three-term recurrence for P_n(x) and its derivative.
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=ORDER {
                    let k = k as f64;
                    let p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                    p0 = p1;
                    p1 = p2;
                }
                derivative = n * (x * p1 - p0) / (x * x - 1.0);
                let step = p1 / derivative;
                x -= step;
                if step.abs() < 1e-16 {
                    break;
                }
            }
            *node = x;
            *weight = 2.0 / ((1.0 - x * x) * derivative * derivative);
        }
        Rule { nodes, weights }
    })
}

/// ∫ f over [breaks.first, breaks.last], one Gauss–Legendre panel between
/// each pair of consecutive breaks. `breaks` must be sorted.
pub(crate) fn integrate(breaks: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let rule = rule();
    breaks
        .windows(2)
        .map(|w| {
            let (lo, hi) = (w[0], w[1]);
            let (mid, half) = (0.5 * (lo + hi), 0.5 * (hi - lo));
            if half <= 0.0 {
                return 0.0;
            }
            half * rule
                .nodes
                .iter()
                .zip(&rule.weights)
                .map(|(x, w)| w * f(mid + half * x))
                .sum::<f64>()
        })
        .sum()
}

/// Sorts, clips to `[lo, hi]` and de-duplicates candidate breaks, always
/// keeping both ends; non-finite candidates are dropped.
pub(crate) fn breaks_within(mut candidates: Vec<f64>, lo: f64, hi: f64) -> Vec<f64> {
    candidates.retain(|x| x.is_finite());
    candidates.push(lo);
    candidates.push(hi);
    for x in candidates.iter_mut() {
        *x = x.clamp(lo, hi);
    }
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_a_polynomial_exactly() {
        let v = integrate(&[0.0, 1.0], |x| 31.0 * x.powi(30));
        assert!((v - 1.0).abs() < 1e-13, "{v}");
    }

    #[test]
    fn integrates_a_gaussian_over_panels() {
        let breaks: Vec<f64> = (-10..=10).map(f64::from).collect();
        let v = integrate(&breaks, |x| (-0.5 * x * x).exp());
        assert!(
            (v - (2.0 * std::f64::consts::PI).sqrt()).abs() < 1e-12,
            "{v}"
        );
    }
}

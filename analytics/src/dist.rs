//! Thin, panic-free wrappers over statrs' normal and Student-t
//! distributions, so callers never construct a distribution from unchecked
//! parameters.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::StatsError;

/// From this many degrees of freedom on, the t quantile comes from the
/// Cornish–Fisher expansion: statrs' `inverse_cdf` (AS 109) drifts by 1e-6
/// near 2e5 dof and can stall beyond 1e7, while four expansion terms are
/// within 6e-12 of scipy from 1000 dof on (see STATISTICS.md).
const CORNISH_FISHER_DOF: f64 = 1000.0;

/// Beyond this many degrees of freedom statrs' t CDF loses digits to
/// cancelling log-gamma terms; a normalising transform takes over.
const NORMALISED_DOF: f64 = 1e6;

fn standard_normal() -> Normal {
    // Invariant: mean 0 and standard deviation 1 are valid parameters.
    Normal::standard()
}

/// Φ(x).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    standard_normal().cdf(x)
}

/// 1 − Φ(x), accurate in the upper tail.
pub(crate) fn normal_sf(x: f64) -> f64 {
    standard_normal().sf(x)
}

/// φ(x).
pub(crate) fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Φ⁻¹(p) for p in (0, 1).
pub(crate) fn normal_quantile(p: f64) -> Result<f64, StatsError> {
    if !(p > 0.0 && p < 1.0) {
        return Err(StatsError::field(
            None,
            "alpha",
            format!("quantile level `{p}` must lie strictly between 0 and 1"),
        ));
    }
    Ok(standard_normal().inverse_cdf(p))
}

fn students_t(dof: f64) -> Result<StudentsT, StatsError> {
    StudentsT::new(0.0, 1.0, dof).map_err(|_| StatsError::NonFinite {
        variant: None,
        field: "dof".into(),
    })
}

/// Upper tail probability of Student's t with `dof` degrees of freedom.
pub(crate) fn t_sf(x: f64, dof: f64) -> Result<f64, StatsError> {
    if dof > NORMALISED_DOF {
        // z = t(1 - 1/(4ν)) / sqrt(1 + t²/(2ν)) is normal to O(1/ν²):
        // relative error under 1e-10 for |t| ≤ 10 at ν ≥ 1e6.
        let z = x * (1.0 - 1.0 / (4.0 * dof)) / (1.0 + x * x / (2.0 * dof)).sqrt();
        return Ok(normal_sf(z));
    }
    Ok(students_t(dof)?.sf(x))
}

/// Quantile of Student's t for p in (0, 1).
pub(crate) fn t_quantile(p: f64, dof: f64) -> Result<f64, StatsError> {
    let z = normal_quantile(p)?;
    if dof < CORNISH_FISHER_DOF {
        return Ok(students_t(dof)?.inverse_cdf(p));
    }
    // Abramowitz & Stegun 26.7.5.
    let (z2, nu) = (z * z, dof);
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    Ok(z + g1 / nu + g2 / nu.powi(2) + g3 / nu.powi(3) + g4 / nu.powi(4))
}

//! Thin, panic-free wrappers over statrs' normal and Student-t
//! distributions, so callers never construct a distribution from unchecked
//! parameters.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::StatsError;

/// Beyond this many degrees of freedom the t distribution is the normal to
/// double precision, and statrs' t quantile loses accuracy.
const NORMAL_DOF: f64 = 1e12;

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
    if dof > NORMAL_DOF {
        return Ok(normal_sf(x));
    }
    Ok(students_t(dof)?.sf(x))
}

/// Quantile of Student's t for p in (0, 1).
pub(crate) fn t_quantile(p: f64, dof: f64) -> Result<f64, StatsError> {
    if dof > NORMAL_DOF {
        return normal_quantile(p);
    }
    if !(p > 0.0 && p < 1.0) {
        return normal_quantile(p);
    }
    Ok(students_t(dof)?.inverse_cdf(p))
}

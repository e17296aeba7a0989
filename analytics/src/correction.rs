//! Multiple-testing corrections over a family of p-values (for example
//! every metric × variant of an experiment): Holm for the family-wise error
//! rate, Benjamini–Hochberg for the false discovery rate.

use crate::error::StatsError;
use crate::input::Correction;

/// Adjusted p-values, in the order given; compare each to alpha directly.
///
/// Holm: `p̃₍ᵢ₎ = maxⱼ≤ᵢ min(1, (m − j + 1) p₍ⱼ₎)`; Benjamini–Hochberg:
/// `p̃₍ᵢ₎ = minⱼ≥ᵢ min(1, m p₍ⱼ₎ / j)`, with p₍ᵢ₎ sorted ascending and
/// 1-based ranks. Both match statsmodels' `multipletests` (`holm`,
/// `fdr_bh`).
pub fn adjust_p_values(p_values: &[f64], method: Correction) -> Result<Vec<f64>, StatsError> {
    for (i, p) in p_values.iter().enumerate() {
        if !(0.0..=1.0).contains(p) {
            return Err(StatsError::field(
                None,
                &format!("p_values[{i}]"),
                format!("must lie between 0 and 1, got `{p}`"),
            ));
        }
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let sorted: Vec<f64> = order.iter().map(|&i| p_values[i]).collect();
    let m_f = m as f64;
    let mut adjusted_sorted = vec![0.0; m];
    match method {
        Correction::Holm => {
            let mut running_max: f64 = 0.0;
            for (rank, (p, out)) in sorted.iter().zip(adjusted_sorted.iter_mut()).enumerate() {
                running_max = running_max.max(((m_f - rank as f64) * p).min(1.0));
                *out = running_max;
            }
        }
        Correction::Bh => {
            let mut running_min: f64 = 1.0;
            for (rank, (p, out)) in sorted
                .iter()
                .zip(adjusted_sorted.iter_mut())
                .enumerate()
                .rev()
            {
                running_min = running_min.min((m_f * p / (rank as f64 + 1.0)).min(1.0));
                *out = running_min;
            }
        }
    }
    let mut adjusted = vec![0.0; m];
    for (&original, value) in order.iter().zip(adjusted_sorted) {
        if let Some(slot) = adjusted.get_mut(original) {
            *slot = value;
        }
    }
    Ok(adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_textbook_example() {
        let adj = adjust_p_values(&[0.01, 0.04, 0.03], Correction::Holm).unwrap();
        assert_eq!(adj, vec![0.03, 0.06, 0.06]);
    }

    #[test]
    fn bh_textbook_example() {
        let adj = adjust_p_values(&[0.01, 0.04, 0.03], Correction::Bh).unwrap();
        let expected = [0.03, 0.04, 0.04];
        for (a, e) in adj.iter().zip(expected) {
            assert!((a - e).abs() < 1e-15);
        }
    }
}

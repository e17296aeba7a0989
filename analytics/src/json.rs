//! The JSON edge of the engine, used by `vexil stats FILE.json` and
//! `vexil plan`: text in, pretty JSON or a [`StatsError`] out.

use crate::analysis::analyze;
use crate::error::StatsError;
use crate::input::AnalysisInput;

/// Parses an [`AnalysisInput`], runs [`analyze`] and returns the
/// [`crate::AnalysisOutput`] as pretty-printed JSON.
///
/// ```
/// let request = r#"{"metric": "proportion", "variants": [
///     {"name": "control", "n": 5000, "sum": 500},
///     {"name": "treatment", "n": 5000, "sum": 560}]}"#;
/// let result: serde_json::Value =
///     serde_json::from_str(&vexil_analytics::analyze_json(request)?).unwrap();
/// let relative = &result["variants"][0]["relative"];
/// assert!((relative["point"].as_f64().unwrap() - 0.12).abs() < 1e-12);
/// assert_eq!(result["srm_flagged"], false);
/// # Ok::<(), vexil_analytics::StatsError>(())
/// ```
pub fn analyze_json(input: &str) -> Result<String, StatsError> {
    let request: AnalysisInput = serde_json::from_str(input).map_err(|e| StatsError::Json {
        message: e.to_string(),
    })?;
    let output = analyze(&request)?;
    serde_json::to_string_pretty(&output).map_err(|e| StatsError::Json {
        message: e.to_string(),
    })
}

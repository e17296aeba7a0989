//! The JSON edge of the engine, used by `vexil stats FILE.json` and
//! `vexil plan`: text in, pretty JSON or a [`StatsError`] out.

use crate::analysis::analyze;
use crate::error::StatsError;
use crate::input::AnalysisInput;

/// Parses an [`AnalysisInput`], runs [`analyze`] and returns the
/// [`crate::AnalysisOutput`] as pretty-printed JSON.
pub fn analyze_json(input: &str) -> Result<String, StatsError> {
    let request: AnalysisInput = serde_json::from_str(input).map_err(|e| StatsError::Json {
        message: e.to_string(),
    })?;
    let output = analyze(&request)?;
    serde_json::to_string_pretty(&output).map_err(|e| StatsError::Json {
        message: e.to_string(),
    })
}

//! Vexil's intermediate representation: the checked, typed program that the
//! compiler writes and the runtime loads, with no source text in sight.
//!
//! Also home to what both sides must agree on exactly: what a valid
//! program is ([`validate`], which makes the [`ValidBundle`] the runtime
//! loads, with the operand types of [`OperandType`]), how patterns
//! compile, the bucketing function, value parsing, and OpenFeature's
//! reasons and error codes.

#![warn(missing_docs)]

pub mod bucket;
pub mod ip;
mod operand;
mod pattern;
mod program;
mod reason;
mod stage;
mod time;
mod valid;
mod validate;
pub mod value;

pub use operand::OperandType;
pub use pattern::{compile_pattern, pattern_error_summary};
pub use program::*;
pub use reason::{ErrorCode, Reason};
pub use stage::{stage_at, staged_buckets};
pub use valid::ValidBundle;
pub use validate::{validate, BundleError, MAX_DEPTH, MAX_SLOTS};
pub use value::{FlagValue, Semver, ValueType};

impl Bundle {
    /// Read a bundle from its JSON form, checking the format and
    /// validating it ([`validate`]), so that the runtime can trust it.
    pub fn from_json(text: &str) -> Result<ValidBundle, BundleError> {
        // The format and its version first, in a pass that skips
        // everything else without building it, so that a file of another
        // kind or version gets its own error; then the bundle straight
        // from the text (no intermediate `serde_json::Value`: half the
        // time of loading a big bundle).
        #[derive(serde::Deserialize)]
        struct Header {
            #[serde(default)]
            format: Option<serde_json::Value>,
            #[serde(default)]
            format_version: Option<serde_json::Value>,
        }
        let header: Header = serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => BundleError::NotABundle,
            _ => BundleError::Parse(e.to_string()),
        })?;
        match header.format.as_ref().and_then(|f| f.as_str()) {
            Some(FORMAT_NAME) => {}
            _ => return Err(BundleError::NotABundle),
        }
        let version = header.format_version.as_ref().and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(BundleError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let bundle: Bundle =
            serde_json::from_str(text).map_err(|e| BundleError::Parse(e.to_string()))?;
        validate(bundle)
    }

    /// The bundle as pretty-printed JSON: what `vexil build` writes and [`Bundle::from_json`] reads.
    pub fn to_json(&self) -> String {
        // A bundle is plain data (no maps with non-string keys), so
        // serialising cannot fail; fall back to an empty object if it ever did.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Index of a flag by name.
    pub fn flag_index(&self, name: &str) -> Option<usize> {
        self.flags.iter().position(|f| f.name == name)
    }

    /// Index of an experiment by name.
    pub fn experiment_index(&self, name: &str) -> Option<usize> {
        self.experiments.iter().position(|e| e.name == name)
    }
}

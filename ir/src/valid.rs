//! A bundle that passed [`validate`](crate::validate), as a type: the only
//! way to make one is to validate a [`Bundle`], so a function that takes a
//! `ValidBundle` (both evaluation backends do) knows every rule of
//! `validate.rs` holds and refuses nothing itself.

use std::ops::Deref;

use regex::Regex;

use crate::pattern::Patterns;
use crate::program::Bundle;
use crate::validate::{validate, BundleError};

/// A validated bundle, read-only: [`ValidBundle::into_inner`] gives the
/// bundle back to change, and changing it means validating it again.
#[derive(Clone)]
pub struct ValidBundle {
    bundle: Bundle,
    /// Every `matches` pattern, compiled by validation.
    patterns: Patterns,
}

impl ValidBundle {
    /// Only `validate` calls this, once every rule has been checked.
    pub(crate) fn new(bundle: Bundle, patterns: Patterns) -> ValidBundle {
        ValidBundle { bundle, patterns }
    }

    /// The bundle itself, giving up the proof that it is valid (to edit it, then validate again).
    pub fn into_inner(self) -> Bundle {
        self.bundle
    }

    /// The compiled form of a `matches` pattern of this bundle: `Some` for
    /// every pattern its conditions hold (validation compiled each).
    pub fn pattern(&self, pattern: &str, case_insensitive: bool) -> Option<&Regex> {
        self.patterns.get(pattern, case_insensitive)
    }
}

impl Deref for ValidBundle {
    type Target = Bundle;

    fn deref(&self) -> &Bundle {
        &self.bundle
    }
}

impl AsRef<Bundle> for ValidBundle {
    fn as_ref(&self) -> &Bundle {
        &self.bundle
    }
}

impl TryFrom<Bundle> for ValidBundle {
    type Error = BundleError;

    fn try_from(bundle: Bundle) -> Result<ValidBundle, BundleError> {
        validate(bundle)
    }
}

impl From<ValidBundle> for Bundle {
    fn from(valid: ValidBundle) -> Bundle {
        valid.bundle
    }
}

/// Two valid bundles are equal when their bundles are (the compiled
/// patterns follow from them).
impl PartialEq for ValidBundle {
    fn eq(&self, other: &ValidBundle) -> bool {
        self.bundle == other.bundle
    }
}

impl std::fmt::Debug for ValidBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ValidBundle").field(&self.bundle).finish()
    }
}

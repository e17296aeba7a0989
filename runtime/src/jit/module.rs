//! The host's code generator, built once per process, and the helpers every
//! module registers: their symbol names, addresses and signatures.

use std::sync::OnceLock;

use cranelift_codegen::ir::{types, AbiParam, Signature, Type};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};

use super::helpers as h;

/// The host ISA, or why there is none. Built once: it depends only on the
/// machine, and building it costs more than compiling a small bundle.
pub(crate) fn host_isa() -> Result<OwnedTargetIsa, String> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| build_isa(false)).clone()
}

/// The host ISA set up to compile quickly rather than well (a single-pass
/// register allocator): for the exact twins of fast functions, which run
/// only when a field is invalid.
pub(crate) fn cold_isa() -> Result<OwnedTargetIsa, String> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| build_isa(true)).clone()
}

fn build_isa(cold: bool) -> Result<OwnedTargetIsa, String> {
    // Compiled code and its helpers exchange pointers as 64-bit integers,
    // and a compiled function returns two words the way a two-word C
    // struct is returned: in two registers. That holds on these hosts.
    let supported = cfg!(all(
        target_pointer_width = "64",
        not(windows),
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ));
    if !supported {
        return Err(format!(
            "compiled evaluation is not supported on {} {}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
    }
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| format!("cranelift setting `{name}`: {e}"))
    };
    // What cranelift-jit requires: absolute addresses, no colocated libcalls.
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    // No e-graph optimisation: the code generator already emits each
    // context load once per fast path and folds what it can, and measured
    // on the workload, `speed` made no faster code while taking 40% longer
    // to compile (237 against 171 ms for 1,000 flags).
    set(&mut flags, "opt_level", "none")?;
    if cold {
        set(&mut flags, "regalloc_algorithm", "single_pass")?;
    }
    // The verifier checks our IR; worth it in debug builds and tests only.
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let isa = cranelift_native::builder().map_err(|e| format!("host not supported: {e}"))?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| format!("host not supported: {e}"))
}

/// A helper compiled code may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Helper {
    StrInSet,
    WordInSet,
    FloatInSet,
    SemverInSet,
    PrereleaseCmpConst,
    PrereleaseCmp,
    StrCmp,
    StrOp,
    Contains,
    RegexMatch,
    BucketStr,
    BucketInt,
    ListHasWord,
    ListHasFloat,
    ListHasStr,
    ListHasVersion,
    ListHasVersionOf,
    ListHasSet,
}

const P: Type = types::I64;
const W: Type = types::I32;

impl Helper {
    pub const ALL: [Helper; 18] = [
        Helper::StrInSet,
        Helper::WordInSet,
        Helper::FloatInSet,
        Helper::SemverInSet,
        Helper::PrereleaseCmpConst,
        Helper::PrereleaseCmp,
        Helper::StrCmp,
        Helper::StrOp,
        Helper::Contains,
        Helper::RegexMatch,
        Helper::BucketStr,
        Helper::BucketInt,
        Helper::ListHasWord,
        Helper::ListHasFloat,
        Helper::ListHasStr,
        Helper::ListHasVersion,
        Helper::ListHasVersionOf,
        Helper::ListHasSet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Helper::StrInSet => "vexil_str_in_set",
            Helper::WordInSet => "vexil_word_in_set",
            Helper::FloatInSet => "vexil_float_in_set",
            Helper::SemverInSet => "vexil_semver_in_set",
            Helper::PrereleaseCmpConst => "vexil_prerelease_cmp_const",
            Helper::PrereleaseCmp => "vexil_prerelease_cmp",
            Helper::StrCmp => "vexil_str_cmp",
            Helper::StrOp => "vexil_str_op",
            Helper::Contains => "vexil_contains",
            Helper::RegexMatch => "vexil_regex_match",
            Helper::BucketStr => "vexil_bucket_str",
            Helper::BucketInt => "vexil_bucket_int",
            Helper::ListHasWord => "vexil_list_has_word",
            Helper::ListHasFloat => "vexil_list_has_float",
            Helper::ListHasStr => "vexil_list_has_str",
            Helper::ListHasVersion => "vexil_list_has_version",
            Helper::ListHasVersionOf => "vexil_list_has_version_of",
            Helper::ListHasSet => "vexil_list_has_set",
        }
    }

    pub fn address(self) -> *const u8 {
        match self {
            Helper::StrInSet => h::str_in_set as *const u8,
            Helper::WordInSet => h::word_in_set as *const u8,
            Helper::FloatInSet => h::float_in_set as *const u8,
            Helper::SemverInSet => h::semver_in_set as *const u8,
            Helper::PrereleaseCmpConst => h::prerelease_cmp_const as *const u8,
            Helper::PrereleaseCmp => h::prerelease_cmp as *const u8,
            Helper::StrCmp => h::str_cmp as *const u8,
            Helper::StrOp => h::str_op as *const u8,
            Helper::Contains => h::contains as *const u8,
            Helper::RegexMatch => h::regex_match as *const u8,
            Helper::BucketStr => h::bucket_str as *const u8,
            Helper::BucketInt => h::bucket_int as *const u8,
            Helper::ListHasWord => h::list_has_word as *const u8,
            Helper::ListHasFloat => h::list_has_float as *const u8,
            Helper::ListHasStr => h::list_has_str as *const u8,
            Helper::ListHasVersion => h::list_has_version as *const u8,
            Helper::ListHasVersionOf => h::list_has_version_of as *const u8,
            Helper::ListHasSet => h::list_has_set as *const u8,
        }
    }

    /// Parameter and return types, matching the Rust declarations in
    /// `helpers.rs` (pointers, `u64` and `i64` as I64; `u32`, `i32` as I32;
    /// `u8` results as I8).
    fn types(self) -> (&'static [Type], Type) {
        const B: Type = types::I8;
        const F: Type = types::F64;
        match self {
            Helper::StrInSet => (&[P, P, P], B),
            Helper::WordInSet => (&[P, P], B),
            Helper::FloatInSet => (&[P, F], B),
            Helper::SemverInSet => (&[P, P, P, P, W], B),
            Helper::PrereleaseCmpConst => (&[P, W, P], W),
            Helper::PrereleaseCmp => (&[P, W, W], W),
            Helper::StrCmp => (&[P, P, P, P], W),
            Helper::StrOp => (&[W, P, P, P, P], B),
            Helper::Contains => (&[P, P, P], B),
            Helper::RegexMatch => (&[P, P, P], B),
            Helper::BucketStr => (&[P, P, P], W),
            Helper::BucketInt => (&[P, P], W),
            Helper::ListHasWord => (&[P, P, P, W], B),
            Helper::ListHasFloat => (&[P, P, F, W], B),
            Helper::ListHasStr => (&[P, P, P, P, P], B),
            Helper::ListHasVersion => (&[P, P, P, P], B),
            Helper::ListHasVersionOf => (&[P, P, P, P, P, W], B),
            Helper::ListHasSet => (&[P, P, P, P, W], B),
        }
    }

    pub fn signature(self, mut sig: Signature) -> Signature {
        let (params, ret) = self.types();
        sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
        sig.returns.push(AbiParam::new(ret));
        sig
    }
}

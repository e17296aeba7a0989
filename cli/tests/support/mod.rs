//! What every CLI test file needs: the `vexil` binary, run from the
//! repository's root so that `examples/…` paths resolve.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `vexil`, with colour left to its own rules (`NO_COLOR` unset).
pub fn vexil() -> Command {
    let mut cmd = Command::cargo_bin("vexil").expect("binary");
    cmd.current_dir(root()).env_remove("NO_COLOR");
    cmd
}

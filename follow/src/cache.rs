//! The cache file: the last version received (the server's answer, without
//! the stream token), written whole or not at all (a temporary file beside
//! it, synced, renamed over it), so that a process started while the
//! server is unreachable starts from its last flags.

use std::io::Write;
use std::path::PathBuf;

use crate::server::Payload;

#[derive(Clone, Debug)]
pub struct Cache {
    file: PathBuf,
}

impl Cache {
    pub fn new(file: PathBuf) -> Cache {
        Cache { file }
    }

    /// The cached version; `Ok(None)` when there is none.
    pub fn read(&self) -> Result<Option<Payload>, String> {
        let text = match std::fs::read(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "cannot read the cache `{}`: {e}",
                    self.file.display()
                ))
            }
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            format!(
                "the cache `{}` is not a cached version: {e}",
                self.file.display()
            )
        })
    }

    /// Replace the cached version with `payload`, stamped with the time.
    pub fn write(&self, payload: &mut Payload) -> Result<(), String> {
        let fail = |doing: &str, e: &dyn std::fmt::Display| {
            format!("cannot {doing} the cache `{}`: {e}", self.file.display())
        };
        payload.saved_at = Some(jiff::Timestamp::now());
        let text = serde_json::to_vec(&*payload).map_err(|e| fail("write", &e))?;
        let dir = match self.file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| fail("create the directory of", &e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| fail("write", &e))?;
        tmp.write_all(&text).map_err(|e| fail("write", &e))?;
        tmp.as_file().sync_all().map_err(|e| fail("sync", &e))?;
        tmp.persist(&self.file)
            .map_err(|e| fail("replace", &e.error))?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

//! The local cache of the last good bundle of a URL source: every version
//! swapped in is written here, so that a server started while its URL is
//! unreachable or serving a broken bundle can still serve the version its
//! fleet last agreed on. One file per URL (named by a digest of it), so two
//! sources never share a cache; written whole or not at all (a temporary
//! file, fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where one source's last good bundle is kept.
#[derive(Clone, Debug)]
pub struct Cache {
    file: PathBuf,
}

impl Cache {
    /// The cache of `url` under `dir` (created on the first write).
    pub fn new(dir: &Path, url: &str) -> Cache {
        let digest = Sha256::digest(url.as_bytes());
        let name = crate::auth::hex(&digest[..8]);
        Cache {
            file: dir.join(format!("bundle-{name}.json")),
        }
    }

    /// The cached bundle's file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The cached bundle's text; `Ok(None)` when nothing is cached.
    pub fn read(&self) -> Result<Option<String>, String> {
        match std::fs::read_to_string(&self.file) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read `{}`: {e}", self.file.display())),
        }
    }

    /// Replace the cached bundle with `text`, atomically and durably: a
    /// reader (or a crash) sees the old file or the new one, never a part.
    pub fn write(&self, text: &str) -> Result<(), String> {
        let fail = |doing: &str, e: std::io::Error| {
            format!(
                "cannot {doing} the bundle cache `{}`: {e}",
                self.file.display()
            )
        };
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
        let mut tmp = self.file.clone().into_os_string();
        tmp.push(format!(".tmp-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.file)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("write", e));
        }
        // The rename is durable once the directory is.
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| fail("sync the directory of", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = Cache::new(&dir.path().join("nested"), "https://flags.example/b.json");
        assert_eq!(cache.read(), Ok(None));
        cache.write("{\"first\": true}").expect("write");
        cache.write("{}").expect("write");
        assert_eq!(cache.read(), Ok(Some("{}".to_string())));
        let files: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
    }

    #[test]
    fn each_url_has_its_own_file() {
        let dir = Path::new("/cache");
        let a = Cache::new(dir, "https://a.example/b.json");
        let b = Cache::new(dir, "https://b.example/b.json");
        assert_ne!(a.path(), b.path());
    }
}

//! A real PostgreSQL for the tests of this crate and its users (not for
//! services): `VEXIL_TEST_POSTGRES_URL` when set (scripts/test.sh starts
//! one cluster for the whole run), else a private cluster started by the
//! repository's `scripts/postgres.sh` for this test process, which stops
//! once the process ends. Never skipped: without PostgreSQL the tests
//! fail, saying why.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use tokio_postgres::NoTls;

/// The repository this crate was built from.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The URL of a PostgreSQL server's `postgres` database.
pub fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("VEXIL_TEST_POSTGRES_URL") {
            return url;
        }
        let dir = std::env::temp_dir().join(format!(
            "vexil-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let out = Command::new(repo_root().join("scripts/postgres.sh"))
            .arg("start")
            .arg(&dir)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .output()
            .expect("scripts/postgres.sh runs");
        assert!(
            out.status.success(),
            "scripts/postgres.sh could not start PostgreSQL (these tests need it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// A new, empty database on the test server; its URL.
pub async fn fresh_database() -> String {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let url = server_url();
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    tokio::spawn(connection);
    let name = format!(
        "vexil_t{}_{}_{}",
        std::process::id(),
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap();
    format!("{base}/{name}")
}

/// A PostgreSQL server of a test's own, which the test can stop and start
/// again (to see what its users do while the database is away); removed
/// when dropped.
pub struct PrivateServer {
    dir: PathBuf,
    /// Its `postgres` database's URL.
    pub url: String,
}

impl PrivateServer {
    /// Start one (installing PostgreSQL if needed).
    pub fn start() -> PrivateServer {
        let dir = std::env::temp_dir().join(format!(
            "vexil-pg-private-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let url = script(&[
            "start",
            &dir.display().to_string(),
            "--owner-pid",
            &std::process::id().to_string(),
        ]);
        PrivateServer { dir, url }
    }

    /// Stop the server (as a crash would), keeping its data.
    pub fn pause(&self) {
        script(&["pause", &self.dir.display().to_string()]);
    }

    /// Start it again on the same port.
    pub fn resume(&self) {
        script(&["resume", &self.dir.display().to_string()]);
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/postgres.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// Run scripts/postgres.sh; its standard output.
fn script(args: &[&str]) -> String {
    let out = Command::new(repo_root().join("scripts/postgres.sh"))
        .args(args)
        .output()
        .expect("scripts/postgres.sh runs");
    assert!(
        out.status.success(),
        "scripts/postgres.sh {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

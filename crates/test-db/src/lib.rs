//! Test support for PostgreSQL: a fresh database per test, cloned from a template that is
//! migrated once per schema version, and throwaway clusters a test may stop and start.
//!
//! The server is `REKEY_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! There is no skipping: when it cannot be reached, the test fails and says how to get one.
//! (STYLE.md §8; after rust-lang/crates.io's `crates_io_test_db`.)

mod cluster;
mod formation;

pub use cluster::{Cluster, bin_dir};

/// A fresh directory for a test's own clusters, under the workspace's `target/test-clusters`
/// (not the system's temporary directory, which may be small or memory-backed); removed when
/// dropped.
///
/// # Panics
/// When it cannot be created.
pub fn cluster_dir() -> tempfile::TempDir {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        std::path::PathBuf::from,
    );
    let parent = target.join("test-clusters");
    std::fs::create_dir_all(&parent).expect("target/test-clusters");
    tempfile::tempdir_in(parent).expect("a directory in target/test-clusters")
}
pub use formation::Formation;
pub use tokio_postgres;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::{Client, NoTls};

/// The default server.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance URL of the test server.
pub fn admin_url() -> String {
    std::env::var("REKEY_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[host_end..]
        .find('/')
        .map_or(base.len(), |i| host_end + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Connects to `url` without TLS, driving the connection on a spawned task.
///
/// # Panics
/// When the server cannot be reached, with a message saying how to get one.
pub async fn connect(url: &str) -> Client {
    match tokio_postgres::connect(url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
        Err(error) => panic!(
            "PostgreSQL is not reachable at {url}: {error}.\n\
             Run the tests with `cargo xtask test` (it finds or starts a server), or set \
             REKEY_TEST_DATABASE_URL to a server where this user may create databases."
        ),
    }
}

/// FNV-1a over the PostgreSQL migrations: the template's name changes with the schema.
fn schema_fingerprint() -> u64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/postgres")
        .flatten()
        .flat_map(|entry| {
            std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|entry| entry.path())
        .collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let bytes = std::fs::read(&file).expect("migration file");
        for byte in file.display().to_string().bytes().chain(bytes) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

const TEMPLATE_LOCK: i64 = 0x7265_6b65_7974; // "rekeyt"

/// A database of its own for one test, dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database's URL.
    pub url: String,
    name: String,
    admin: String,
}

impl TestDatabase {
    /// Clones a fresh database from the template, first making the template (under an advisory
    /// lock, so parallel test processes do it once) by running `migrate` on an empty database.
    ///
    /// # Panics
    /// When the server cannot be reached or `migrate` fails: a test must not silently skip.
    pub async fn create<F, Fut>(migrate: F) -> Self
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let admin = admin_url();
        let client = connect(&admin).await;
        let template = format!("rekey_tpl_{:016x}", schema_fingerprint());
        client
            .execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK])
            .await
            .expect("advisory lock");
        drop_stale(&client).await;
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
            .await
            .expect("query templates")
            .is_some();
        if !exists {
            let building = format!("{template}_building");
            exec(
                &client,
                &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
            )
            .await;
            exec(&client, &format!("CREATE DATABASE {building}")).await;
            if let Err(error) = migrate(with_database(&admin, &building)).await {
                panic!("migrating the template database failed: {error}");
            }
            exec(
                &client,
                &format!("ALTER DATABASE {building} RENAME TO {template}"),
            )
            .await;
        }
        let name = unique_name();
        exec(
            &client,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        )
        .await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK])
            .await
            .expect("advisory unlock");
        Self {
            url: with_database(&admin, &name),
            name,
            admin,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

async fn exec(client: &Client, sql: &str) {
    if let Err(error) = client.batch_execute(sql).await {
        panic!("{sql}: {error}");
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    #[allow(
        clippy::disallowed_methods,
        reason = "test support: names only need to differ"
    )]
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "rekey_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops test databases whose process is gone (a test that panicked before its drop ran).
async fn drop_stale(client: &Client) {
    let rows = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rekey_test_%'",
            &[],
        )
        .await
        .expect("list test databases");
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with
        // a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let client = connect(&admin).await;
                client.batch_execute(&sql).await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("dropping a test database failed: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_replace_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=require", "x"),
            "postgres://u:p@h/x?sslmode=require"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}

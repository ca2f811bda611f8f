//! `pg-cluster start DIR` starts a throwaway PostgreSQL cluster in `DIR` (made afresh) and
//! prints its URL; `pg-cluster stop DIR` stops it. `cargo xtask test` uses it when no server
//! is running.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rekey_test_db::Cluster;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["start", dir] => {
            let dir = PathBuf::from(dir);
            if dir.join("pgdata").exists() {
                // A cluster a crashed run left behind: stop it if it still runs, start anew.
                let _ = std::panic::catch_unwind(|| Cluster::stop_in(&dir));
                let _ = std::fs::remove_dir_all(&dir);
            }
            if let Err(error) = std::fs::create_dir_all(&dir) {
                eprintln!("pg-cluster: creating {}: {error}", dir.display());
                return ExitCode::FAILURE;
            }
            let cluster = Cluster::start(&dir);
            let _ = writeln!(std::io::stdout(), "{}", cluster.url());
            cluster.detach();
            ExitCode::SUCCESS
        }
        ["stop", dir] => {
            Cluster::stop_in(&PathBuf::from(dir));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: pg-cluster start|stop DIR");
            ExitCode::from(2)
        }
    }
}

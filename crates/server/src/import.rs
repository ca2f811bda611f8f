//! `rekey admin user import FILE`: users from another system, one AddHumanUser body (REST JSON)
//! a line, with `hashedPassword` for their existing password hashes.
//!
//! Each line is checked and added as AddHumanUser would (the same decoding, field rules and use
//! case, as an instance owner). A line's `userId` is required: a user that exists already is
//! left as it is, so a file imported twice changes nothing the second time. A line that fails
//! is reported with its number and the file goes on. Lines are added a few at a time (a plain
//! `password` is hashed with argon2id on the hashing threads, an imported hash is stored as it
//! is and replaced at the user's first login).

use std::io::BufRead as _;
use std::path::Path;

use futures_util::StreamExt as _;
use rekey_application::Ports;
use rekey_application::ports::{Taken, UserStore as _};
use rekey_application::usecase::add_user;
use rekey_domain::Principal;
use rekey_proto::zitadel::user::v2::AddHumanUserRequest;

/// Lines in flight at once: below the hasher's queue (`passwords.max_queued`, 32 by default),
/// so a file of plain passwords waits for the hashing threads instead of being refused.
const IN_FLIGHT: usize = 16;

/// What became of the file's lines.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Users added.
    pub added: usize,
    /// Users that existed already, left as they were.
    pub unchanged: usize,
    /// Refused lines: the line number (from 1) and why.
    pub failed: Vec<(usize, String)>,
}

/// What became of one line.
enum Outcome {
    Added,
    Unchanged,
    Failed(String),
}

/// Imports `file` as `caller`.
///
/// # Errors
/// A message when the file cannot be read (a refused line is in the report, not an error).
pub async fn run<P: Ports>(ports: &P, caller: &Principal, file: &Path) -> Result<Report, String> {
    let opened =
        std::fs::File::open(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let mut lines = Vec::new();
    for (index, line) in std::io::BufReader::new(opened).lines().enumerate() {
        let line =
            line.map_err(|e| format!("reading {} line {}: {e}", file.display(), index + 1))?;
        if !line.trim().is_empty() {
            lines.push((index + 1, line));
        }
    }
    let mut outcomes: Vec<(usize, Outcome)> = futures_util::stream::iter(lines)
        .map(|(number, line)| async move { (number, import_line(ports, caller, &line).await) })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    outcomes.sort_by_key(|(number, _)| *number);
    let mut report = Report::default();
    for (number, outcome) in outcomes {
        match outcome {
            Outcome::Added => report.added += 1,
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Failed(why) => report.failed.push((number, why)),
        }
    }
    Ok(report)
}

async fn import_line<P: Ports>(ports: &P, caller: &Principal, line: &str) -> Outcome {
    let refused = |status: rekey_api::Status| {
        Outcome::Failed(match status.id() {
            Some(id) => format!("{} ({id})", status.message()),
            None => status.message().to_owned(),
        })
    };
    let request: AddHumanUserRequest = match rekey_api::json::decode(line.as_bytes()) {
        Ok(request) => request,
        Err(status) => return refused(status),
    };
    let input = match rekey_api::rpc::add_human_user::input(request) {
        Ok(input) => input,
        Err(status) => return refused(status),
    };
    let Some(user_id) = input.user_id.clone() else {
        return Outcome::Failed(
            "userId is required: it is what makes importing a file again change nothing".into(),
        );
    };
    match ports.users().user(&user_id).await {
        Ok(Some(_)) => return Outcome::Unchanged,
        Ok(None) => {}
        Err(failure) => return Outcome::Failed(failure.to_string()),
    }
    match add_user::add_human(ports, caller, input).await {
        Ok(_) => Outcome::Added,
        // Added meanwhile by another line or process with the same id, or a deleted user's
        // id (which stays taken, as in ZITADEL).
        Err(add_user::Error::AlreadyExists(Taken::UserId)) => Outcome::Unchanged,
        Err(add_user::Error::AlreadyExists(Taken::Username)) => {
            Outcome::Failed("the username is taken in its organization by another user".into())
        }
        Err(error) => refused(rekey_api::rpc::add_human_user::error(error)),
    }
}

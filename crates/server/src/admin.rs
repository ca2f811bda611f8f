//! `rekey admin …`: the use cases, run from the command line as the instance owner.
//! Each command prints only its result on stdout (an id or a token), so scripts can capture it.

use std::io::Write as _;

use clap::Subcommand;
use rekey_application::usecase::{
    add_organization, add_user, create_token, lifecycle, system_principal,
};
use rekey_crypto_adapter::MasterKey;
use rekey_domain::{BoundedText, Language, OrgName, Role, Username};

use crate::adapters::{Adapters, SystemClock};
use crate::settings::Settings;
use rekey_application::ports::{Clock as _, OutboxStore as _};

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Personal access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// The outbox of queued messages.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

/// `rekey admin outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List messages, newest first: id, status, channel, masked recipient, attempts, next
    /// attempt, last error.
    List {
        /// Only messages of this status.
        #[arg(long, value_parser = ["pending", "sent", "dead", "skipped"])]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Queue a dead message again, due now, with its attempts reset.
    Retry {
        /// The message id.
        id: String,
    },
}

/// `rekey admin org …`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organization; prints its id.
    Add {
        /// Unique name.
        #[arg(long)]
        name: String,
    },
}

/// `rekey admin user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a human user; prints its id.
    AddHuman {
        /// Organization id.
        #[arg(long)]
        org: String,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Phone number, international format (+41…).
        #[arg(long)]
        phone: Option<String>,
        /// Given name (default: the username).
        #[arg(long)]
        given_name: Option<String>,
        /// Family name (default: the username).
        #[arg(long)]
        family_name: Option<String>,
        /// Preferred language, e.g. de.
        #[arg(long)]
        language: Option<String>,
        /// Create in state Initial (not yet initialized; cannot reset).
        #[arg(long)]
        initial: bool,
    },
    /// Add a machine user (service account); prints its id.
    AddMachine {
        /// Organization id.
        #[arg(long)]
        org: String,
        /// Login name.
        #[arg(long)]
        username: String,
    },
    /// Unlock a locked user (by the lockout policy or `user lock`).
    Unlock {
        /// The user's id.
        id: String,
    },
    /// Lock an active or initial user: no session, no password change with the current one.
    Lock {
        /// The user's id.
        id: String,
    },
    /// Deactivate a user: no session, no token of its own.
    Deactivate {
        /// The user's id.
        id: String,
    },
    /// Reactivate a deactivated user.
    Reactivate {
        /// The user's id.
        id: String,
    },
    /// Delete a user, with its tokens, sessions, code and queued messages; its events stay,
    /// without its address and names.
    Delete {
        /// The user's id.
        id: String,
    },
    /// Import users: FILE holds one AddHumanUser body (JSON) a line, each with its `userId`,
    /// with `password` or an existing hash in `hashedPassword`. Users that exist are left as
    /// they are; prints each refused line's number and reason, then the counts.
    Import {
        /// The JSON-lines file.
        file: std::path::PathBuf,
    },
}

/// `rekey admin token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a personal access token for a user; prints the token, once.
    Create {
        /// The token's owner.
        #[arg(long)]
        user: String,
        /// A role (repeatable): IAM_OWNER, IAM_USER_MANAGER, IAM_LOGIN_CLIENT, IAM_SESSION_CLIENT, ORG_OWNER, ORG_USER_MANAGER.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Lifetime, e.g. 90d; default: no expiry.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List tokens, oldest first: one line each, `id user org roles created expires last-used
    /// revoked` (`-` for none); never a token.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id: from the next request on (within `tokens.cache_ttl` on
    /// instances that remember it) it authenticates nothing.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}

/// `rekey admin secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a fresh random key for `secrets.key` or an entry of `secrets.keys`.
    NewKey,
}

fn print(line: &str) -> Result<(), String> {
    writeln!(std::io::stdout(), "{line}").map_err(|e| format!("stdout: {e}"))
}

fn text<const MIN: usize, const MAX: usize>(
    flag: &str,
    value: &str,
) -> Result<BoundedText<MIN, MAX>, String> {
    BoundedText::new(value).map_err(|e| format!("--{flag}: {e}"))
}

/// Runs one admin command.
///
/// # Errors
/// A message saying what was refused or failed.
pub async fn run(settings: &Settings, command: AdminCommand) -> Result<(), String> {
    if let AdminCommand::Secrets(SecretsCommand::NewKey) = command {
        let key = MasterKey::generate().map_err(|e| e.to_string())?;
        return print(&key.to_base64());
    }
    let adapters = Adapters::build(
        settings,
        crate::adapters::Open::Now {
            migrate: settings.database.migrate_on_start,
        },
    )
    .await?;
    let system = system_principal();
    match command {
        AdminCommand::Org(OrgCommand::Add { name }) => {
            let input = add_organization::Input {
                name: OrgName::new(name).map_err(|e| format!("--name: {e}"))?,
                org_id: None,
            };
            let out = add_organization::execute(&adapters, &system, input)
                .await
                .map_err(|e| e.to_string())?;
            print(out.org_id.as_str())
        }
        AdminCommand::User(UserCommand::Import { file }) => {
            let report = crate::import::run(&adapters, &system, &file).await?;
            for (line, why) in &report.failed {
                print(&format!("line {line}: {why}"))?;
            }
            print(&format!(
                "added {}, unchanged {}, failed {}",
                report.added,
                report.unchanged,
                report.failed.len()
            ))?;
            if report.failed.is_empty() {
                Ok(())
            } else {
                Err(format!("{} lines were not imported", report.failed.len()))
            }
        }
        AdminCommand::User(UserCommand::AddHuman {
            org,
            username,
            email,
            phone,
            given_name,
            family_name,
            language,
            initial,
        }) => {
            let input = add_user::HumanInput {
                user_id: None,
                org_id: Some(org.parse().map_err(|e| format!("--org: {e}"))?),
                given_name: text("given-name", given_name.as_deref().unwrap_or(&username))?,
                family_name: text("family-name", family_name.as_deref().unwrap_or(&username))?,
                username: Some(
                    Username::new(username.as_str()).map_err(|e| format!("--username: {e}"))?,
                ),
                display_name: None,
                preferred_language: language
                    .map(|l| Language::new(&l).map_err(|e| format!("--language: {e}")))
                    .transpose()?,
                email: email.parse().map_err(|e| format!("--email: {e}"))?,
                email_verified: false,
                phone: phone
                    .map(|p| p.parse().map_err(|e| format!("--phone: {e}")))
                    .transpose()?,
                phone_verified: false,
                password: None,
                hashed_password: None,
                password_change_required: false,
                initial,
            };
            let out = add_user::add_human(&adapters, &system, input)
                .await
                .map_err(|e| e.to_string())?;
            print(out.user_id.as_str())
        }
        AdminCommand::User(UserCommand::AddMachine { org, username }) => {
            let input = add_user::MachineInput {
                org_id: org.parse().map_err(|e| format!("--org: {e}"))?,
                username: Username::new(username.as_str())
                    .map_err(|e| format!("--username: {e}"))?,
                name: None,
            };
            let out = add_user::add_machine(&adapters, &system, input)
                .await
                .map_err(|e| e.to_string())?;
            print(out.user_id.as_str())
        }
        AdminCommand::User(
            command @ (UserCommand::Unlock { .. }
            | UserCommand::Lock { .. }
            | UserCommand::Deactivate { .. }
            | UserCommand::Reactivate { .. }
            | UserCommand::Delete { .. }),
        ) => {
            use lifecycle::Transition;
            let (id, transition, done) = match command {
                UserCommand::Unlock { id } => (id, Some(Transition::Unlock), "unlocked"),
                UserCommand::Lock { id } => (id, Some(Transition::Lock), "locked"),
                UserCommand::Deactivate { id } => (id, Some(Transition::Deactivate), "deactivated"),
                UserCommand::Reactivate { id } => (id, Some(Transition::Reactivate), "reactivated"),
                UserCommand::Delete { id } => (id, None, "deleted"),
                _ => unreachable!("matched above"),
            };
            let id = id.parse().map_err(|e| format!("user id: {e}"))?;
            match transition {
                Some(transition) => lifecycle::transition(&adapters, &system, &id, transition)
                    .await
                    .map(drop),
                None => lifecycle::delete(&adapters, &system, &id).await.map(drop),
            }
            .map_err(|e| e.to_string())?;
            print(&format!("{done} {id}"))
        }
        AdminCommand::Token(TokenCommand::Create {
            user,
            roles,
            expires_in,
        }) => {
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let expires_at = expires_in
                .map(|text| {
                    let span = humantime::parse_duration(&text)
                        .map_err(|e| format!("--expires-in: {e}"))?;
                    let span = chrono::TimeDelta::from_std(span)
                        .map_err(|e| format!("--expires-in: {e}"))?;
                    Ok::<_, String>(SystemClock.now() + span)
                })
                .transpose()?;
            let input = create_token::Input {
                user_id: user.parse().map_err(|e| format!("--user: {e}"))?,
                roles,
                expires_at,
            };
            let out = create_token::execute(&adapters, &system, input)
                .await
                .map_err(|e| e.to_string())?;
            print(out.token.expose())
        }
        AdminCommand::Token(TokenCommand::List { user }) => {
            let user = user
                .map(|u| u.parse().map_err(|e| format!("--user: {e}")))
                .transpose()?;
            let tokens = create_token::list(&adapters, &system, user.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            let at = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map_or_else(
                    || "-".to_owned(),
                    |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
            };
            let lines: Vec<String> = tokens
                .iter()
                .map(|t| {
                    let roles: Vec<&str> = t.roles.iter().map(|r| r.as_str()).collect();
                    format!(
                        "{} {} {} {} {} {} {} {}",
                        t.id,
                        t.user_id,
                        t.org_id,
                        if roles.is_empty() {
                            "-".to_owned()
                        } else {
                            roles.join(",")
                        },
                        at(Some(t.created_at)),
                        at(t.expires_at),
                        at(t.last_used_at),
                        at(t.revoked_at),
                    )
                })
                .collect();
            print(&lines.join("\n"))
        }
        AdminCommand::Token(TokenCommand::Revoke { id }) => {
            create_token::revoke(&adapters, &system, &id)
                .await
                .map_err(|e| e.to_string())?;
            print(&format!("revoked {id}"))
        }
        AdminCommand::Outbox(OutboxCommand::List { status, limit }) => {
            let entries = adapters
                .store()
                .list(status.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            for e in entries {
                // Only a pending message has a next attempt; the others are done with.
                let next_attempt = if e.status == "pending" {
                    e.next_attempt_at.to_rfc3339()
                } else {
                    "-".to_owned()
                };
                print(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.status,
                    e.channel.as_str(),
                    e.recipient_masked,
                    e.attempts,
                    next_attempt,
                    e.last_error.unwrap_or_default()
                ))?;
            }
            Ok(())
        }
        AdminCommand::Outbox(OutboxCommand::Retry { id }) => {
            if adapters
                .store()
                .retry(&id, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?
            {
                print(&format!("{id} queued again"))
            } else {
                Err(format!("no dead message with id {id}"))
            }
        }
        AdminCommand::Secrets(SecretsCommand::NewKey) => Ok(()),
    }
}

//! The checks behind rekey's fuzz targets (`fuzz_targets/`), one function per target.
//!
//! Each function takes the raw input libFuzzer made and panics when a property fails; a panic,
//! an input that takes too long, or one that allocates past libFuzzer's limits is a finding.
//! The inputs are text, so the seed corpus (`corpus/<target>/`) is readable.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::str::FromStr;
use std::task::{Context, Poll, Waker};

use rekey_api::Rpc;
use rekey_api::fuzzing::{Format, Outcome, Shape, answer, call, is_client_error};
use rekey_application::Ports;
use rekey_application::ports::{LinkData, LinkRenderer};
use rekey_application::usecase::fakes::{Fake, principal};
use rekey_domain::{
    BoundedText, Email, Language, OrgId, Phone, Principal, Role, UrlTemplate, UserId, UserState,
};
use rekey_notifier_adapter::HandlebarsLinks;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Request bodies

/// The organization of the world every request body runs in.
pub const ORG: &str = "o1";
/// A human user with a phone (`+41791234567`) and an open code, [`CODE`].
pub const USER_WITH_PHONE: &str = "100";
/// A human user without a phone, whose password is [`PASSWORD`].
pub const USER: &str = "101";
/// A human user that is not yet initialized.
pub const INITIAL_USER: &str = "102";
/// A machine user.
pub const MACHINE: &str = "103";
/// The current password of [`USER`].
pub const PASSWORD: &str = "Old-Passw0rd!x";
/// The code that [`fresh_world`] issues to [`USER_WITH_PHONE`] (the fakes count codes and ids).
pub const CODE: &str = "000104";
/// The session of [`USER`] that [`fresh_world`] creates, with its password checked.
pub const SESSION: &str = "105";
/// The token of [`SESSION`].
pub const SESSION_TOKEN: &str = "session-106";

/// The ports a request body runs on: the in-memory fakes of every port, except that url
/// templates go to the real [`HandlebarsLinks`].
#[derive(Debug)]
pub struct World {
    fake: Fake,
    links: HandlebarsLinks,
}

/// A fresh world: organization [`ORG`] with the users above, [`USER`]'s session [`SESSION`],
/// and an IAM owner calling.
///
/// # Panics
/// If the world cannot be set up (a bug in the harness, not a finding about the input).
pub fn fresh_world() -> (World, Principal) {
    let fake = Fake::new();
    fake.add_org(ORG, "Acme");
    let ids = [
        fake.add_human(ORG, UserState::Active, Some("+41791234567")),
        fake.add_human(ORG, UserState::Active, None),
        fake.add_human(ORG, UserState::Initial, None),
        fake.add_machine(ORG),
    ];
    assert_eq!(ids, [USER_WITH_PHONE, USER, INITIAL_USER, MACHINE]);
    let reversed: String = PASSWORD.chars().rev().collect();
    fake.set_password_hash(USER, &format!("$fake${reversed}"));
    let world = World {
        fake,
        links: HandlebarsLinks::new(),
    };
    let caller = principal(ORG, &[Role::IamOwner]);
    let issue = format!(r#"{{"userId": "{USER_WITH_PHONE}", "returnCode": {{}}}}"#);
    let Outcome::Answered(issued) = block_on(call(
        &world,
        &caller,
        Rpc::PasswordReset,
        Format::Json,
        issue.as_bytes(),
    )) else {
        panic!("the world's code was not issued");
    };
    assert_eq!(issued["verificationCode"], CODE, "the fakes' counter moved");
    let create = format!(
        r#"{{"checks": {{"user": {{"userId": "{USER}"}}, "password": {{"password": "{PASSWORD}"}}}},
            "userAgent": {{"ip": "192.0.2.1"}}, "metadata": {{"step": "cGFzc3dvcmQ="}}}}"#
    );
    let Outcome::Answered(created) = block_on(call(
        &world,
        &caller,
        Rpc::CreateSession,
        Format::Json,
        create.as_bytes(),
    )) else {
        panic!("the world's session was not created");
    };
    assert_eq!(created["sessionId"], SESSION, "the fakes' counter moved");
    assert_eq!(
        created["sessionToken"], SESSION_TOKEN,
        "the fakes' counter moved"
    );
    (world, caller)
}

/// Runs `future`, which must not wait: every port of a [`World`] answers at once.
///
/// # Panics
/// If the future is pending (nothing would ever wake it).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a use case waited on an in-memory port"),
    }
}

/// Fuzz target for the body of `rpc`: decode, field validation and the use case, on a fresh
/// [`World`].
///
/// Properties:
/// - nothing panics, and no answer is a 5xx (the fakes never fail, so a 5xx is a bug);
/// - every refusal renders as a JSON error body in both protocols, with a 4xx status (501 for
///   what rekey does not do: a check other than user and password);
/// - an undecodable body is 400 with code 3 (`invalid_argument`);
/// - the outcome does not depend on the JSON's spelling: the same message re-serialized by
///   `serde_json` (other white space, escapes and number forms) gets the same answer;
/// - a user that AddHumanUser created reads back with GetUserByID, and its email and phone
///   parse back to themselves.
///
/// # Panics
/// When a property fails.
pub fn request_body(rpc: Rpc, data: &[u8]) {
    let (world, caller) = fresh_world();
    let outcome = block_on(call(&world, &caller, rpc, Format::Json, data));
    let summary = summarize(&outcome);
    if let Outcome::Undecodable(error) = &outcome {
        let (status, body) = answer(error, Shape::Connect);
        assert_eq!(status, 400, "undecodable body answered {status}");
        let body: Value = serde_json::from_slice(&body).expect("a JSON error body");
        assert_eq!(body["code"], "invalid_argument", "{body}");
        return;
    }
    if let Outcome::Answered(response) = &outcome {
        assert!(
            response.is_object(),
            "response is not an object: {response}"
        );
        if rpc == Rpc::AddHumanUser {
            reads_back(&world, &caller, response);
        }
    }
    // The same message, spelled by serde_json.
    if let Ok(message) = serde_json::from_slice::<Value>(data) {
        let respelled = serde_json::to_vec(&message).expect("a Value serializes");
        let (world, caller) = fresh_world();
        let again = summarize(&block_on(call(
            &world,
            &caller,
            rpc,
            Format::Json,
            &respelled,
        )));
        assert_eq!(
            summary,
            again,
            "the answer changed when the body was re-serialized as {}",
            String::from_utf8_lossy(&respelled)
        );
    }
}

/// Fuzz target for the protobuf bodies of every RPC (gRPC, gRPC-Web, Connect binary): the first
/// byte picks the RPC (modulo `Rpc::ALL.len()`, in [`Rpc::ALL`]'s order), the rest is the
/// message.
///
/// Properties:
/// - prost's decoder and the field rules never panic, and no answer is a 5xx;
/// - every refusal renders as a JSON error body in both shapes, with a 4xx status (501 for what
///   rekey does not do);
/// - the outcome depends on the message, not its encoding: the decoded message re-encoded by
///   prost (fields in order, no unknown fields, no repeated singular fields) gets the same answer;
/// - a user that AddHumanUser created reads back with GetUserByID, and one that DeleteUser
///   deleted does not (404);
/// - a token that AddPersonalAccessToken added authenticates as its user and is listed by
///   ListPersonalAccessTokens (without the token itself); once RemovePersonalAccessToken
///   removed it, it authenticates nothing, is not listed, and a second removal is 404.
///
/// # Panics
/// When a property fails.
pub fn binary_body(data: &[u8]) {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let rpc = Rpc::ALL[usize::from(selector) % Rpc::ALL.len()];
    let (world, caller) = fresh_world();
    let outcome = block_on(call(&world, &caller, rpc, Format::Binary, message));
    let summary = summarize(&outcome);
    let Some(canonical) = reencode(rpc, message) else {
        assert!(
            matches!(outcome, Outcome::Undecodable(_)),
            "decoded for the call but not for re-encoding"
        );
        return;
    };
    if let Outcome::Answered(response) = &outcome {
        match rpc {
            Rpc::AddHumanUser => reads_back(&world, &caller, response),
            Rpc::DeleteUser => is_gone(&world, &caller, message),
            Rpc::AddPersonalAccessToken => token_round_trip(&world, &caller, response),
            _ => {}
        }
    }
    let (world, caller) = fresh_world();
    let again = summarize(&block_on(call(
        &world,
        &caller,
        rpc,
        Format::Binary,
        &canonical,
    )));
    assert_eq!(
        summary, again,
        "the answer changed when the message was re-encoded"
    );
}

/// `message` decoded as `rpc`'s request and encoded again, if it decodes.
fn reencode(rpc: Rpc, message: &[u8]) -> Option<Vec<u8>> {
    use rekey_proto::prost::Message;
    use rekey_proto::zitadel::{
        org::v2 as org, session::v2 as session, settings::v2 as settings, user::v2 as user,
    };
    fn again<M: Message + Default>(message: &[u8]) -> Option<Vec<u8>> {
        M::decode(message).ok().map(|m| m.encode_to_vec())
    }
    match rpc {
        Rpc::PasswordReset => again::<user::PasswordResetRequest>(message),
        Rpc::SetPassword => again::<user::SetPasswordRequest>(message),
        Rpc::GetUserById => again::<user::GetUserByIdRequest>(message),
        Rpc::AddHumanUser => again::<user::AddHumanUserRequest>(message),
        Rpc::AddOrganization => again::<org::AddOrganizationRequest>(message),
        Rpc::CreateSession => again::<session::CreateSessionRequest>(message),
        Rpc::SetSession => again::<session::SetSessionRequest>(message),
        Rpc::GetSession => again::<session::GetSessionRequest>(message),
        Rpc::DeleteSession => again::<session::DeleteSessionRequest>(message),
        Rpc::ListSessions => again::<session::ListSessionsRequest>(message),
        Rpc::GetPasswordComplexitySettings => {
            again::<settings::GetPasswordComplexitySettingsRequest>(message)
        }
        Rpc::GetLockoutSettings => again::<settings::GetLockoutSettingsRequest>(message),
        Rpc::ListAuthenticationMethodTypes => {
            again::<user::ListAuthenticationMethodTypesRequest>(message)
        }
        Rpc::DeactivateUser => again::<user::DeactivateUserRequest>(message),
        Rpc::ReactivateUser => again::<user::ReactivateUserRequest>(message),
        Rpc::LockUser => again::<user::LockUserRequest>(message),
        Rpc::UnlockUser => again::<user::UnlockUserRequest>(message),
        Rpc::DeleteUser => again::<user::DeleteUserRequest>(message),
        Rpc::AddPersonalAccessToken => again::<user::AddPersonalAccessTokenRequest>(message),
        Rpc::RemovePersonalAccessToken => again::<user::RemovePersonalAccessTokenRequest>(message),
        Rpc::ListPersonalAccessTokens => again::<user::ListPersonalAccessTokensRequest>(message),
    }
}

/// What a client sees of an outcome: the status and body (REST and Connect) or the response.
fn summarize(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Answered(response) => format!("200 {response}"),
        Outcome::Undecodable(error) | Outcome::Refused(error) => {
            let mut seen = String::new();
            assert!(
                is_client_error(error),
                "a fake-backed call failed: {error:?}"
            );
            for shape in [Shape::Rest, Shape::Connect] {
                let (status, body) = answer(error, shape);
                assert!(
                    (400..500).contains(&status) || status == 501,
                    "answered {status} {}",
                    String::from_utf8_lossy(&body)
                );
                let body: Value = serde_json::from_slice(&body).expect("a JSON error body");
                assert!(body["message"].is_string(), "{body}");
                seen.push_str(&format!("{status} {body}\n"));
            }
            seen
        }
    }
}

/// The user that `added` (an AddHumanUser response) names reads back, and its contact
/// addresses are valid values that re-parse to themselves.
fn reads_back(world: &World, caller: &Principal, added: &Value) {
    let user_id = added["userId"].as_str().expect("userId in the response");
    let body = serde_json::json!({ "userId": user_id }).to_string();
    let Outcome::Answered(read) = block_on(call(
        world,
        caller,
        Rpc::GetUserById,
        Format::Json,
        body.as_bytes(),
    )) else {
        panic!("user {user_id} was added but does not read back");
    };
    let human = &read["user"]["human"];
    let email = human["email"]["email"].as_str().expect("the email");
    assert_eq!(
        Email::from_str(email).map(String::from).as_deref(),
        Ok(email)
    );
    if let Some(phone) = human["phone"]["phone"].as_str() {
        assert_eq!(
            Phone::from_str(phone).map(String::from).as_deref(),
            Ok(phone)
        );
    }
}

/// The user that `request` (a DeleteUser request DeleteUser answered) named no longer reads
/// back, and a second DeleteUser finds it gone too.
fn is_gone(world: &World, caller: &Principal, request: &[u8]) {
    use rekey_proto::prost::Message;
    let user_id = rekey_proto::zitadel::user::v2::DeleteUserRequest::decode(request)
        .expect("DeleteUser answered, so its request decodes")
        .user_id;
    let body = serde_json::json!({ "userId": user_id }).to_string();
    for rpc in [Rpc::GetUserById, Rpc::DeleteUser] {
        let outcome = block_on(call(world, caller, rpc, Format::Json, body.as_bytes()));
        let Outcome::Refused(error) = &outcome else {
            panic!("user {user_id:?} was deleted but {rpc:?} answered {outcome:?}");
        };
        let (status, _) = answer(error, Shape::Rest);
        assert_eq!(status, 404, "{rpc:?} of deleted user {user_id:?}");
    }
}

/// The token that `added` (an AddPersonalAccessToken response) holds authenticates as its user
/// and is listed, never shown; removed, it authenticates nothing, is no longer listed, and a
/// second removal finds nothing (404).
fn token_round_trip(world: &World, caller: &Principal, added: &Value) {
    use rekey_application::usecase::authenticate;
    use rekey_domain::BearerToken;
    let token_id = added["tokenId"].as_str().expect("tokenId in the response");
    let token = BearerToken::new(added["token"].as_str().expect("token in the response"));
    let owner = block_on(authenticate::execute(world, &token))
        .unwrap_or_else(|e| panic!("token {token_id} was added but does not authenticate: {e:?}"));
    let listed = |rpc_caller: &Principal| {
        let body = serde_json::json!({ "filters": [{ "tokenIdFilter": { "id": token_id } }] });
        let Outcome::Answered(page) = block_on(call(
            world,
            rpc_caller,
            Rpc::ListPersonalAccessTokens,
            Format::Json,
            body.to_string().as_bytes(),
        )) else {
            panic!("ListPersonalAccessTokens of token {token_id} was refused");
        };
        page["result"].as_array().cloned().unwrap_or_default()
    };
    let found = listed(caller);
    assert_eq!(found.len(), 1, "token {token_id} is listed once: {found:?}");
    assert_eq!(found[0]["userId"], owner.user_id.as_str());
    assert!(
        found[0].get("token").is_none(),
        "the token itself is listed"
    );
    let remove =
        serde_json::json!({ "userId": owner.user_id.as_str(), "tokenId": token_id }).to_string();
    let removal = || {
        block_on(call(
            world,
            caller,
            Rpc::RemovePersonalAccessToken,
            Format::Json,
            remove.as_bytes(),
        ))
    };
    let outcome = removal();
    assert!(
        matches!(outcome, Outcome::Answered(_)),
        "token {token_id} was not removed: {outcome:?}"
    );
    assert!(
        block_on(authenticate::execute(world, &token)).is_err(),
        "token {token_id} authenticates after its removal"
    );
    assert!(
        listed(caller).is_empty(),
        "token {token_id} is listed after its removal"
    );
    let Outcome::Refused(error) = removal() else {
        panic!("token {token_id} was removed twice");
    };
    assert_eq!(
        answer(&error, Shape::Rest).0,
        404,
        "second removal of {token_id}"
    );
}

impl Ports for World {
    type Users = Fake;
    type Tokens = Fake;
    type Codes = Fake;
    type CodeHashes = Fake;
    type Sealer = Fake;
    type Minter = Fake;
    type Passwords = Fake;
    type Strength = Fake;
    type Links = HandlebarsLinks;
    type Clock = Fake;
    type Ids = Fake;
    type Limiter = Fake;
    type Sessions = Fake;

    fn users(&self) -> &Fake {
        &self.fake
    }
    fn tokens(&self) -> &Fake {
        &self.fake
    }
    fn codes(&self) -> &Fake {
        &self.fake
    }
    fn code_hashes(&self) -> &Fake {
        &self.fake
    }
    fn sealer(&self) -> &Fake {
        &self.fake
    }
    fn minter(&self) -> &Fake {
        &self.fake
    }
    fn passwords(&self) -> &Fake {
        &self.fake
    }
    fn strength(&self) -> &Fake {
        &self.fake
    }
    fn links(&self) -> &HandlebarsLinks {
        &self.links
    }
    fn clock(&self) -> &Fake {
        &self.fake
    }
    fn ids(&self) -> &Fake {
        &self.fake
    }
    fn limiter(&self) -> &Fake {
        &self.fake
    }
    fn sessions(&self) -> &Fake {
        &self.fake
    }
    fn policies(&self) -> &rekey_application::ports::Policies {
        self.fake.policies()
    }
}

// ---------------------------------------------------------------------------------------------
// Url templates

/// Fuzz target for url templates. The input is `template`, optionally followed by `\0user id`,
/// `\0org id` and `\0code` (the values it is rendered with; defaults otherwise).
///
/// Properties:
/// - `UrlTemplate` takes exactly the templates of 1..=200 code points;
/// - a template that `validate` accepts renders with any values (so a link that was accepted
///   at request time can always be delivered);
/// - rendering is deterministic, and the link's length is linear in the template's;
/// - values cannot add URL syntax: every character of a link is either in the template or one
///   of RFC 3986's unreserved characters or `%` (the values are percent-encoded).
///
/// # Panics
/// When a property fails.
pub fn url_template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let template = parts.next().unwrap_or_default();
    let values = LinkData {
        user_id: parts.next().unwrap_or("u/1 ?&"),
        org_id: parts.next().unwrap_or("o#1"),
        code: parts.next().unwrap_or("<K7Q2ZD>"),
    };
    let links = HandlebarsLinks::new();
    let rendered = links.render(template, &values);
    assert_eq!(
        rendered,
        links.render(template, &values),
        "not deterministic"
    );
    if let Ok(link) = &rendered {
        let template_chars: HashSet<char> = template.chars().collect();
        for c in link.chars() {
            assert!(
                template_chars.contains(&c) || c.is_ascii_alphanumeric() || "-._~%".contains(c),
                "{c:?} came from a value into {link:?}"
            );
        }
        let longest = [values.user_id, values.org_id, values.code]
            .iter()
            .map(|v| v.len())
            .max()
            .unwrap_or(0);
        let bound = 3 * (template.len() + 1) * (longest + 8);
        assert!(link.len() <= bound, "link of {} bytes", link.len());
    }

    let chars = template.chars().count();
    let Ok(checked) = UrlTemplate::try_from(template.to_owned()) else {
        assert!(!(1..=200).contains(&chars), "refused a template of {chars}");
        return;
    };
    assert!((1..=200).contains(&chars), "took a template of {chars}");
    assert_eq!(checked.as_str(), template);
    if links.validate(&checked).is_ok() {
        assert!(
            rendered.is_ok(),
            "validated, but does not render: {rendered:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Contact addresses and ids

/// Fuzz target for `Phone`. Properties: a number that parses is `+` and 8 to 15 digits,
/// re-parses to itself (also as `00…` and through serde), has a country code, and its masked
/// form has its length and hides all but the country prefix and the last two digits.
///
/// # Panics
/// When a property fails.
pub fn phone(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(phone) = Phone::from_str(text) else {
        return;
    };
    let e164 = phone.as_str();
    let digits = e164.strip_prefix('+').expect("starts with +");
    assert!((8..=15).contains(&digits.len()), "{e164}");
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{e164}");
    assert_eq!(Phone::from_str(e164).as_ref(), Ok(&phone), "re-parse");
    assert_eq!(Phone::from_str(&format!("00{digits}")).as_ref(), Ok(&phone));
    let json = serde_json::to_string(&phone).expect("serializes");
    assert_eq!(
        serde_json::from_str::<Phone>(&json).ok().as_ref(),
        Some(&phone)
    );
    assert_ne!(phone.country_code(), 0, "{e164}");
    let masked = phone.masked();
    assert_eq!(masked.len(), e164.len(), "{masked}");
    assert_eq!(masked[..3], e164[..3]);
    assert_eq!(masked[masked.len() - 2..], e164[e164.len() - 2..]);
    assert!(masked[3..masked.len() - 2].bytes().all(|b| b == b'*'));
}

/// Fuzz target for `Email`. Properties: an address that parses has no white space or control
/// characters, at most 254 bytes, a local part of 1 to 64 bytes and a dotted domain; it
/// re-parses to itself (also through serde), and its masked form keeps only the local part's
/// first character.
///
/// # Panics
/// When a property fails.
pub fn email(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(email) = Email::from_str(text) else {
        return;
    };
    let address = email.as_str();
    assert_eq!(address, text.trim());
    assert!(address.len() <= 254);
    assert!(!address.chars().any(|c| c.is_whitespace() || c.is_control()));
    let local = email.local_part();
    assert!((1..=64).contains(&local.len()), "{address}");
    let domain = &address[local.len() + 1..];
    assert!(domain.contains('.') && !domain.contains('@'), "{address}");
    assert_eq!(Email::from_str(address).as_ref(), Ok(&email), "re-parse");
    let json = serde_json::to_string(&email).expect("serializes");
    assert_eq!(
        serde_json::from_str::<Email>(&json).ok().as_ref(),
        Some(&email)
    );
    let first: String = local.chars().take(1).collect();
    assert_eq!(email.masked(), format!("{first}***@{domain}"));
}

/// Fuzz target for the other values built at the edge: `UserId`, `OrgId`, `BoundedText`,
/// `UrlTemplate` and `Language`. Properties: each takes exactly what its rule says (code points,
/// not bytes), and what it takes it keeps unchanged and re-parses (also through serde).
///
/// # Panics
/// When a property fails.
pub fn ids(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let chars = text.chars().count();
    let id_rule = (1..=200).contains(&chars) && !text.chars().any(char::is_control);

    let user = UserId::from_str(text);
    assert_eq!(user.is_ok(), id_rule, "UserId {text:?}");
    if let Ok(user) = user {
        assert_eq!(user.as_str(), text);
        assert_eq!(user.to_string(), text);
        let json = serde_json::to_string(&user).expect("serializes");
        assert_eq!(serde_json::from_str::<UserId>(&json).ok(), Some(user));
    }
    let org = OrgId::from_str(text);
    assert_eq!(org.is_ok(), id_rule, "OrgId {text:?}");
    if let Ok(org) = org {
        assert_eq!(OrgId::from_str(org.as_str()).as_ref(), Ok(&org));
    }

    let bounded = BoundedText::<1, 200>::new(text);
    assert_eq!(bounded.is_ok(), (1..=200).contains(&chars));
    if let Ok(bounded) = bounded {
        assert_eq!(bounded.as_str(), text);
    }
    let template = UrlTemplate::try_from(text.to_owned());
    assert_eq!(template.is_ok(), (1..=200).contains(&chars));

    let language = Language::new(text);
    let language_rule = (1..=35).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    assert_eq!(language.is_ok(), language_rule, "Language {text:?}");
    if let Ok(language) = language {
        assert_eq!(language.as_str(), text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_is_as_its_constants_say() {
        let (world, caller) = fresh_world();
        let body = format!(r#"{{"sessionId": "{SESSION}", "sessionToken": "{SESSION_TOKEN}"}}"#);
        let Outcome::Answered(shown) = block_on(call(
            &world,
            &caller,
            Rpc::GetSession,
            Format::Json,
            body.as_bytes(),
        )) else {
            panic!("the world's session reads back with its token");
        };
        assert_eq!(shown["session"]["factors"]["user"]["id"], USER);
        assert!(shown["session"]["factors"]["password"].is_object());
    }

    /// The life-cycle seeds reach what their names say: a change, or the refusal of the state.
    #[test]
    fn the_life_cycle_seeds_reach_their_answers() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/binary_body");
        for (seed, expected) in [
            ("deactivate_user", None),
            ("reactivate_user_active", Some("COMMAND-s5qqcz97hf")),
            ("lock_user_initial", None),
            ("unlock_user_active", Some("COMMAND-olb9vb0oca")),
            ("delete_user", None),
            ("delete_user_with_session", None),
        ] {
            let data = std::fs::read(corpus.join(seed)).expect("seed");
            let (&selector, message) = data.split_first().expect("a selector");
            let rpc = Rpc::ALL[usize::from(selector) % Rpc::ALL.len()];
            let (world, caller) = fresh_world();
            let outcome = block_on(call(&world, &caller, rpc, Format::Binary, message));
            match (expected, &outcome) {
                (None, Outcome::Answered(_)) => {}
                (Some(id), Outcome::Refused(error)) => {
                    let (_, body) = answer(error, Shape::Rest);
                    assert!(
                        String::from_utf8_lossy(&body).contains(id),
                        "{seed}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                _ => panic!("{seed} ({rpc:?}): {outcome:?}"),
            }
        }
    }

    /// The token seeds reach what their names say: a token added or listed, or the refusal.
    #[test]
    fn the_token_seeds_reach_their_answers() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/binary_body");
        for (seed, rpc, expected) in [
            ("add_pat", Rpc::AddPersonalAccessToken, None),
            ("add_pat_expiring", Rpc::AddPersonalAccessToken, None),
            (
                "add_pat_past",
                Rpc::AddPersonalAccessToken,
                Some("DOMAIN-dv3t5"),
            ),
            (
                "add_pat_human",
                Rpc::AddPersonalAccessToken,
                Some("COMMAND-Df2f1"),
            ),
            (
                "add_pat_unknown_user",
                Rpc::AddPersonalAccessToken,
                Some("COMMAND-Dggw2"),
            ),
            (
                "remove_pat_unknown",
                Rpc::RemovePersonalAccessToken,
                Some("COMMAND-4m77G"),
            ),
            ("list_pats", Rpc::ListPersonalAccessTokens, None),
            ("list_pats_filters", Rpc::ListPersonalAccessTokens, None),
            (
                "list_pats_over_limit",
                Rpc::ListPersonalAccessTokens,
                Some("QUERY-4M0fs"),
            ),
            (
                "list_pats_empty_filter",
                Rpc::ListPersonalAccessTokens,
                Some("value is required"),
            ),
        ] {
            let data = std::fs::read(corpus.join(seed)).expect("seed");
            let (&selector, message) = data.split_first().expect("a selector");
            assert_eq!(
                Rpc::ALL[usize::from(selector) % Rpc::ALL.len()],
                rpc,
                "{seed}"
            );
            let (world, caller) = fresh_world();
            let outcome = block_on(call(&world, &caller, rpc, Format::Binary, message));
            match (expected, &outcome) {
                (None, Outcome::Answered(_)) => {}
                (Some(id), Outcome::Refused(error)) => {
                    let (_, body) = answer(error, Shape::Rest);
                    assert!(
                        String::from_utf8_lossy(&body).contains(id),
                        "{seed}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                _ => panic!("{seed} ({rpc:?}): {outcome:?}"),
            }
        }
    }

    /// The seeds of the request body targets keep their properties (a fuzz run starts there).
    #[test]
    fn the_request_body_seeds_pass() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        let seeds = |target: &str| {
            let mut files: Vec<_> = std::fs::read_dir(corpus.join(target))
                .expect("seeds")
                .map(|e| e.expect("entry").path())
                .collect();
            files.sort();
            files
                .into_iter()
                .map(|path| std::fs::read(path).expect("seed"))
        };
        for (target, rpc) in [
            ("password_reset", Rpc::PasswordReset),
            ("set_password", Rpc::SetPassword),
            ("get_user", Rpc::GetUserById),
            ("add_human_user", Rpc::AddHumanUser),
            ("add_organization", Rpc::AddOrganization),
            ("create_session", Rpc::CreateSession),
            ("set_session", Rpc::SetSession),
            ("get_session", Rpc::GetSession),
            ("delete_session", Rpc::DeleteSession),
            ("list_sessions", Rpc::ListSessions),
        ] {
            for seed in seeds(target) {
                request_body(rpc, &seed);
            }
        }
        for seed in seeds("binary_body") {
            binary_body(&seed);
        }
    }
}

//! The reset page at the default link's path, `/ui/v2/login/password/set?code=…&organization=…&userId=…`:
//! server-rendered HTML that works without JavaScript, in English and German.
//!
//! A GET only shows the form (mail scanners that open links change nothing). The POST carries
//! a CSRF token that must equal the one in its cookie (double submit; the cookie is
//! `SameSite=Strict`, `HttpOnly`, scoped to the page), then runs SetPassword with the code.
//! Every answer forbids framing, caching, referrers and anything but this origin's CSS.

use actix_web::cookie::{Cookie, SameSite};
use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Data, Payload, Query};
use actix_web::{HttpRequest, HttpResponse};
use handlebars::Handlebars;
use ipnet::IpNet;
use rekey_application::Ports;
use rekey_application::usecase::{WeakPassword, limits, set_password};
use rekey_domain::{Password, PlainCode, Principal, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::HttpSettings;
use crate::body::read_body;
use crate::error::{ApiError, Code};

const CSRF_COOKIE: &str = "rekey_csrf";
const PAGE: &str = include_str!("../templates/page.html.hbs");
const CSS: &str = "body{font-family:system-ui,sans-serif;background:#fafafa;margin:0}\
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.1)}label{display:block;margin-top:1rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font-size:1rem}\
button{margin-top:1.5rem;width:100%;padding:.75rem;font-size:1rem;background:#1a56db;\
color:#fff;border:0;border-radius:4px}#error{color:#b91c1c}#done{color:#047857}\
ul{padding-left:1.2rem;color:#555;font-size:.9rem}";

/// The page's texts in one language.
#[derive(Debug, Clone, Serialize)]
struct Texts {
    title: &'static str,
    code: &'static str,
    password: &'static str,
    confirm: &'static str,
    submit: &'static str,
    done: &'static str,
    policy_intro: &'static str,
    policy: [&'static str; 4],
    mismatch: &'static str,
    expired_form: &'static str,
    gone: &'static str,
    too_many: &'static str,
    unavailable: &'static str,
}

const EN: Texts = Texts {
    title: "Set a new password",
    code: "Code",
    password: "New password",
    confirm: "New password again",
    submit: "Set password",
    done: "Your password has been changed. You can close this page and sign in.",
    policy_intro: "The password must:",
    policy: [
        "be at least 8 characters long",
        "contain a lower-case and an upper-case letter, a number and a symbol",
        "not contain your name, username or email address",
        "not be easy to guess",
    ],
    mismatch: "The two passwords differ.",
    expired_form: "This form has expired. Please submit it again.",
    gone: "This link or code is not valid (any more). Please request a new one.",
    too_many: "Too many attempts. Please try again later.",
    unavailable: "The service is unavailable. Please try again in a moment.",
};

const DE: Texts = Texts {
    title: "Neues Passwort festlegen",
    code: "Code",
    password: "Neues Passwort",
    confirm: "Neues Passwort wiederholen",
    submit: "Passwort festlegen",
    done: "Dein Passwort wurde geändert. Du kannst diese Seite schliessen und dich anmelden.",
    policy_intro: "Das Passwort muss:",
    policy: [
        "mindestens 8 Zeichen lang sein",
        "einen Klein- und einen Grossbuchstaben, eine Zahl und ein Sonderzeichen enthalten",
        "weder deinen Namen noch Benutzernamen oder deine E-Mail-Adresse enthalten",
        "schwer zu erraten sein",
    ],
    mismatch: "Die beiden Passwörter stimmen nicht überein.",
    expired_form: "Dieses Formular ist abgelaufen. Bitte sende es noch einmal.",
    gone: "Dieser Link oder Code ist (nicht mehr) gültig. Bitte fordere einen neuen an.",
    too_many: "Zu viele Versuche. Bitte versuche es später noch einmal.",
    unavailable: "Der Dienst ist nicht verfügbar. Bitte versuche es gleich noch einmal.",
};

/// The link's query (and the form's hidden fields).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkQuery {
    code: Option<String>,
    organization: Option<String>,
    #[serde(rename = "userId")]
    user_id: Option<String>,
    lang: Option<String>,
}

/// The submitted form.
#[derive(Deserialize)]
pub(crate) struct SetForm {
    csrf: String,
    #[serde(rename = "userId")]
    user_id: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    lang: String,
    code: String,
    password: String,
    confirm: String,
}

fn language(requested: Option<&str>, req: &HttpRequest) -> &'static str {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wanted = requested.filter(|l| !l.is_empty()).unwrap_or(accept);
    if wanted.trim_start().to_ascii_lowercase().starts_with("de") {
        "de"
    } else {
        "en"
    }
}

fn texts(lang: &str) -> &'static Texts {
    if lang == "de" { &DE } else { &EN }
}

/// Adds the headers every page answer carries.
fn secure(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    let set = |name, value: &'static str| (name, HeaderValue::from_static(value));
    for (name, value) in [
        set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        set(header::REFERRER_POLICY, "no-referrer"),
        set(header::CACHE_CONTROL, "no-store"),
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        set(header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, value);
    }
    response
}

fn render(values: &serde_json::Value) -> HttpResponse {
    render_with(StatusCode::OK, values)
}

/// The values the page's template reads; an answer sets some, the rest are null. The
/// template runs in strict mode, so a name it reads that is not here fails loudly in tests.
const PAGE_VALUES: [&str; 9] = [
    "lang",
    "t",
    "done",
    "message",
    "error",
    "csrf",
    "user_id",
    "organization",
    "code",
];

/// The page's template, parsed once, in strict mode.
fn engine() -> Result<&'static Handlebars<'static>, &'static str> {
    static ENGINE: std::sync::OnceLock<Result<Handlebars<'static>, String>> =
        std::sync::OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut engine = Handlebars::new();
            engine.set_strict_mode(true);
            engine
                .register_template_string("page", PAGE)
                .map_err(|e| e.to_string())?;
            Ok(engine)
        })
        .as_ref()
        .map_err(String::as_str)
}

fn page_html(values: &serde_json::Value) -> Result<String, String> {
    let mut all: serde_json::Map<String, serde_json::Value> = PAGE_VALUES
        .iter()
        .map(|key| ((*key).to_owned(), serde_json::Value::Null))
        .collect();
    if let Some(given) = values.as_object() {
        all.extend(given.clone());
    }
    engine()?.render("page", &all).map_err(|e| e.to_string())
}

fn render_with(status: StatusCode, values: &serde_json::Value) -> HttpResponse {
    match page_html(values) {
        Ok(html) => secure(
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
        ),
        Err(error) => {
            tracing::error!(%error, "the reset page does not render");
            secure(HttpResponse::InternalServerError().finish())
        }
    }
}

fn form(lang: &'static str, query: &LinkQuery, csrf: &str, error: Option<&str>) -> HttpResponse {
    render(&json!({
        "lang": lang,
        "t": texts(lang),
        "csrf": csrf,
        "code": query.code.as_deref().unwrap_or(""),
        "user_id": query.user_id.as_deref().unwrap_or(""),
        "organization": query.organization.as_deref().unwrap_or(""),
        "error": error,
    }))
}

fn csrf_cookie(token: &str, secure_cookie: bool) -> Cookie<'static> {
    Cookie::build(CSRF_COOKIE, token.to_owned())
        .path("/ui/v2/login/password/set")
        .http_only(true)
        .secure(secure_cookie)
        .same_site(SameSite::Strict)
        .finish()
}

/// Whether the browser reached us over HTTPS. rekey itself speaks plain HTTP, so only a
/// trusted proxy can say so, in `X-Forwarded-Proto` (its last value: the one it added); the
/// header from anyone else is ignored.
fn is_https(req: &HttpRequest, trusted: &[IpNet]) -> bool {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return false;
    };
    trusted.iter().any(|net| net.contains(&peer))
        && req
            .headers()
            .get_all("x-forwarded-proto")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// `GET /ui/v2/login/password/set`: the form, with the code from the link filled in. Changes
/// nothing.
pub(crate) async fn show(
    req: HttpRequest,
    settings: Data<HttpSettings>,
    query: Query<LinkQuery>,
) -> HttpResponse {
    let lang = language(query.lang.as_deref(), &req);
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut response = form(lang, &query, &token, None);
    let _ = response.add_cookie(&csrf_cookie(
        &token,
        is_https(&req, &settings.trusted_proxies),
    ));
    response
}

/// `POST /ui/v2/login/password/set`: counts against the client IP's budget, checks the CSRF
/// token, then sets the password with the code.
///
/// An unknown user and a wrong, expired or used code all get one and the same page, with no
/// form (so nothing of the request is echoed), and every answer is held back until at least
/// `page_min_response` has passed since the request arrived: neither the content nor the
/// time of an answer tells those cases apart.
///
/// The form is read like an API request's body: within `server.body_timeout` (else 408) and
/// up to `server.body_limit` bytes (else 413), so a slow client cannot hold a connection.
pub(crate) async fn submit<P: Ports>(
    ports: Data<P>,
    settings: Data<HttpSettings>,
    req: HttpRequest,
    body: Payload,
) -> Result<HttpResponse, ApiError> {
    let earliest = tokio::time::Instant::now() + settings.page_min_response;
    let submitted = read_form(&req, body, &settings).await?;
    let response = answer(ports.get_ref(), &settings, &req, submitted).await;
    tokio::time::sleep_until(earliest).await;
    Ok(response)
}

/// The submitted form: `application/x-www-form-urlencoded`, read within the body timeout and
/// limit.
async fn read_form(
    req: &HttpRequest,
    body: Payload,
    settings: &HttpSettings,
) -> Result<SetForm, ApiError> {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::new(
            Code::InvalidArgument,
            "unsupported content type: the reset page takes application/x-www-form-urlencoded",
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let bytes = read_body(body, settings.body_limit, settings.body_timeout).await?;
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| ApiError::invalid("invalid form: a field is missing or malformed"))
}

async fn answer<P: Ports>(
    ports: &P,
    settings: &HttpSettings,
    req: &HttpRequest,
    submitted: SetForm,
) -> HttpResponse {
    let lang = language(Some(&submitted.lang), req);
    let t = texts(lang);
    let too_many = |exhausted: &limits::Exhausted| {
        let mut response = render_with(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "lang": lang, "t": t, "message": t.too_many }),
        );
        if let Ok(value) = HeaderValue::from_str(&exhausted.retry_after_seconds().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    };
    let client = client_ip(req, &settings.trusted_proxies);
    match limits::client_ip(ports, client).await {
        Ok(Ok(())) => {}
        Ok(Err(exhausted)) => return too_many(&exhausted),
        Err(failure) => {
            tracing::error!(%failure, "reset page: the client budget could not be checked");
            return render(&json!({ "lang": lang, "t": t, "message": t.unavailable }));
        }
    }
    let query = LinkQuery {
        code: Some(submitted.code.clone()),
        organization: Some(submitted.organization.clone()),
        user_id: Some(submitted.user_id.clone()),
        lang: Some(lang.to_owned()),
    };
    let cookie = req.cookie(CSRF_COOKIE);
    let token = uuid::Uuid::new_v4().simple().to_string();
    let again = |error: &str| {
        let mut response = form(lang, &query, &token, Some(error));
        let _ = response.add_cookie(&csrf_cookie(
            &token,
            is_https(req, &settings.trusted_proxies),
        ));
        response
    };
    let gone = || render(&json!({ "lang": lang, "t": t, "message": t.gone }));
    let csrf_ok = cookie.is_some_and(|c| !c.value().is_empty() && c.value() == submitted.csrf);
    if !csrf_ok {
        return again(t.expired_form);
    }
    if submitted.password != submitted.confirm {
        return again(t.mismatch);
    }
    let Ok(user_id) = UserId::try_from(submitted.user_id.clone()) else {
        return gone();
    };
    // The code is the proof; the change is recorded as made by the user itself.
    let caller = Principal {
        user_id: user_id.clone(),
        org_id: submitted
            .organization
            .clone()
            .try_into()
            .unwrap_or_else(|_| {
                user_id
                    .to_string()
                    .try_into()
                    .unwrap_or_else(|_| unreachable!())
            }),
        roles: vec![],
    };
    let input = set_password::Input {
        user_id,
        new_password: Password::new(submitted.password),
        change_required: false,
        // Counted per client: a stranger's guesses neither use up the code's attempts nor
        // the user's wrong-code budget.
        verification: set_password::Verification::PageCode {
            code: PlainCode::new(submitted.code),
            client,
        },
    };
    use set_password::Error as E;
    match set_password::execute(ports, &caller, input).await {
        Ok(_) => render(&json!({ "lang": lang, "t": t, "done": true })),
        Err(
            E::UserNotFound
            | E::UserNotInitialized
            | E::CodeNotFound
            | E::PermissionDenied
            | E::CodeExpired
            | E::CodeInvalid
            | E::CurrentPasswordInvalid { .. }
            | E::UserLocked { .. }
            | E::SamePassword,
        ) => gone(),
        Err(E::Exhausted(exhausted)) => too_many(&exhausted),
        Err(E::Password(weak)) => {
            let message = match &weak {
                WeakPassword::Policy(violation) => violation.to_string(),
                WeakPassword::TooWeak { .. } => weak.to_string(),
            };
            again(&message)
        }
        Err(E::Failure(failure)) => {
            tracing::error!(%failure, "reset page: the change could not be stored");
            again(t.unavailable)
        }
    }
}

/// The client's address as a budget knows it: the peer, or, when the peer is a trusted
/// proxy, the nearest address in `X-Forwarded-For` that is not a trusted proxy itself; then
/// [`budget_subject`].
fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), |a| a.ip());
    budget_subject(forwarded_client(
        peer,
        req.headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok()),
        trusted,
    ))
}

/// One client's address for budgets: an IPv4 address as it is (also when written as
/// `::ffff:a.b.c.d`), an IPv6 address as its /64, the network one subscriber usually holds
/// whole, so a client cannot get a fresh budget per address of its prefix.
fn budget_subject(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

fn forwarded_client<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    // `::ffff:10.0.0.2` (a dual-stack socket's IPv4 peer) is 10.0.0.2.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    // Right to left: each hop was added by the proxy after it; stop at the first untrusted.
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break, // garbage: believe nothing further left
        }
    }
    client
}

/// `GET /ui/v2/login/rekey.css`.
pub(crate) async fn stylesheet() -> HttpResponse {
    secure(
        HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .body(CSS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().expect("net")).collect();
        forwarded_client(
            peer.parse().expect("ip"),
            forwarded.iter().copied(),
            &trusted,
        )
        .to_string()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        // No trusted proxy: the header is the client's to forge, so it is ignored.
        assert_eq!(client("203.0.113.9", &["198.51.100.1"], &[]), "203.0.113.9");
        // From a trusted proxy: the nearest hop it did not add itself.
        assert_eq!(
            client("10.0.0.2", &["198.51.100.1, 10.0.0.3"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // A client prepending a forged hop does not get past the first untrusted one.
        assert_eq!(
            client("10.0.0.2", &["1.2.3.4, 198.51.100.1"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        // Several headers read as one list; garbage stops the walk.
        assert_eq!(
            client("10.0.0.2", &["198.51.100.1", "10.0.0.3"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        assert_eq!(
            client("10.0.0.2", &["not-an-ip"], &["10.0.0.0/8"]),
            "10.0.0.2"
        );
        // Every hop trusted: the farthest one.
        assert_eq!(
            client("10.0.0.2", &["10.0.0.7"], &["10.0.0.0/8"]),
            "10.0.0.7"
        );
        assert_eq!(client("::1", &["2001:db8::5"], &["::1/128"]), "2001:db8::5");
        // A dual-stack socket's IPv4 peer matches IPv4 entries.
        assert_eq!(
            client("::ffff:10.0.0.2", &["198.51.100.1"], &["10.0.0.0/8"]),
            "198.51.100.1"
        );
        assert_eq!(
            client(
                "10.0.0.2",
                &["::ffff:10.0.0.3, ::ffff:198.51.100.1"],
                &["10.0.0.0/8"]
            ),
            "198.51.100.1"
        );
    }

    #[test]
    fn every_page_renders_in_strict_mode() {
        for lang in ["en", "de"] {
            let t = texts(lang);
            for values in [
                json!({ "lang": lang, "t": t, "csrf": "c", "code": "K7", "user_id": "u", "organization": "o", "error": null }),
                json!({ "lang": lang, "t": t, "csrf": "c", "code": "", "user_id": "", "organization": "", "error": "wrong" }),
                json!({ "lang": lang, "t": t, "message": t.gone }),
                json!({ "lang": lang, "t": t, "done": true }),
            ] {
                let html = page_html(&values).expect("renders");
                assert!(html.contains(t.title), "{html}");
            }
        }
        let engine = engine().expect("parsed");
        assert!(engine.strict_mode());
        assert!(
            std::ptr::eq(engine, super::engine().expect("parsed")),
            "parsed once"
        );
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        let subject = |ip: &str| budget_subject(ip.parse().expect("ip")).to_string();
        assert_eq!(subject("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(subject("2001:db8:1:2:ffff::1"), "2001:db8:1:2::");
        assert_ne!(subject("2001:db8:1:3::1"), subject("2001:db8:1:2::1"));
        assert_eq!(subject("203.0.113.9"), "203.0.113.9");
        assert_eq!(subject("::ffff:203.0.113.9"), "203.0.113.9");
    }
}

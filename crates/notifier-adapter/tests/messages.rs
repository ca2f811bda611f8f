//! The message renderer: languages, texts, escaping, links and template overrides.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rekey_application::ports::{MessageData, MessageRenderer, RenderedMessage};
use rekey_notifier_adapter::HandlebarsMessages;

const LINK: &str =
    "https://example.com/ui/v2/login/password/set?code=K7Q2ZD&organization=o1&userId=u1";

fn data(language: Option<&str>) -> MessageData<'_> {
    MessageData {
        language,
        display_name: "Ada Lovelace",
        username: "ada",
        code: "K7Q2ZD",
        link: LINK,
    }
}

fn render(language: Option<&str>) -> RenderedMessage {
    HandlebarsMessages::new(None)
        .unwrap()
        .password_reset(&data(language))
        .unwrap()
}

fn value<'a>(message: &'a RenderedMessage, key: &str) -> &'a str {
    message
        .template_data
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in template data"))
}

const EN_TEXT: &str = "We received a password reset request. Please use the button below to reset \
                       your password. (Code K7Q2ZD) If you didn't ask for this mail, please \
                       ignore it.";

const DE_TEXT: &str = "Wir haben eine Anfrage für das Zurücksetzen deines Passwortes bekommen. Du \
                       kannst den untenstehenden Button verwenden, um dein Passwort \
                       zurückzusetzen (Code K7Q2ZD). Falls du dieses Mail nicht angefordert \
                       hast, kannst du es ignorieren.";

#[test]
fn english_texts() {
    let message = render(Some("en"));
    assert_eq!(message.subject, "Reset password");
    assert_eq!(
        message.text,
        format!("Hello Ada Lovelace,\n\n{EN_TEXT}\n\nReset password:\n{LINK}\n")
    );
    assert!(message.html.contains("<html lang=\"en\">"));
    assert!(message.html.contains("Hello Ada Lovelace,"));
    assert!(message.html.contains("(Code K7Q2ZD)"));
    assert!(message.html.contains(">Reset password</a>"));
    assert_eq!(message.sms, format!("Reset password (Code K7Q2ZD): {LINK}"));

    let keys: Vec<&str> = message
        .template_data
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "title",
            "preHeader",
            "subject",
            "greeting",
            "text",
            "buttonText",
            "url",
            "args.code",
            "args.displayName",
            "args.userName"
        ]
    );
    for key in ["title", "preHeader", "subject", "buttonText"] {
        assert_eq!(value(&message, key), "Reset password", "{key}");
    }
    assert_eq!(value(&message, "greeting"), "Hello Ada Lovelace,");
    assert_eq!(value(&message, "text"), EN_TEXT);
    assert_eq!(value(&message, "url"), LINK);
    assert_eq!(value(&message, "args.code"), "K7Q2ZD");
    assert_eq!(value(&message, "args.displayName"), "Ada Lovelace");
    assert_eq!(value(&message, "args.userName"), "ada");
}

#[test]
fn german_texts() {
    for tag in ["de", "de-CH", "de_AT", "DE"] {
        let message = render(Some(tag));
        assert_eq!(message.subject, "Passwort zurücksetzen", "{tag}");
        assert_eq!(
            message.text,
            format!("Hallo Ada Lovelace,\n\n{DE_TEXT}\n\nPasswort zurücksetzen:\n{LINK}\n")
        );
        assert!(message.html.contains("<html lang=\"de\">"));
        assert!(message.html.contains("Hallo Ada Lovelace,"));
        assert!(message.html.contains(">Passwort zurücksetzen</a>"));
        assert_eq!(
            message.sms,
            format!("Passwort zurücksetzen (Code K7Q2ZD): {LINK}")
        );
        assert_eq!(value(&message, "greeting"), "Hallo Ada Lovelace,");
        assert_eq!(value(&message, "text"), DE_TEXT);
        assert_eq!(value(&message, "buttonText"), "Passwort zurücksetzen");
    }
}

#[test]
fn other_languages_fall_back_to_english() {
    let english = render(Some("en"));
    for language in [Some("fr"), Some("en-US"), Some(""), Some("deu"), None] {
        assert_eq!(render(language), english, "{language:?}");
    }
}

#[test]
fn the_link_is_in_every_form() {
    let message = render(None);
    // In HTML, `&` and `=` of the link are escaped as HTML entities, which a browser decodes.
    let in_html = LINK.replace('&', "&amp;").replace('=', "&#x3D;");
    assert!(
        message.html.contains(&format!("href=\"{in_html}\"")),
        "{}",
        message.html
    );
    assert!(message.html.contains(&format!(">{in_html}</a>")));
    assert!(message.text.lines().any(|line| line == LINK));
    assert!(message.sms.contains(LINK));
}

#[test]
fn values_are_html_escaped_in_html_only() {
    let renderer = HandlebarsMessages::new(None).unwrap();
    let message = renderer
        .password_reset(&MessageData {
            display_name: "<b>Ada</b> & \"Co\"",
            ..data(None)
        })
        .unwrap();
    assert!(
        message
            .html
            .contains("Hello &lt;b&gt;Ada&lt;/b&gt; &amp; &quot;Co&quot;,")
    );
    assert!(!message.html.contains("<b>Ada</b>"));
    assert!(message.text.starts_with("Hello <b>Ada</b> & \"Co\",\n"));
    assert_eq!(value(&message, "greeting"), "Hello <b>Ada</b> & \"Co\",");
    assert_eq!(value(&message, "args.displayName"), "<b>Ada</b> & \"Co\"");
}

#[test]
fn the_html_is_a_complete_document() {
    let html = render(None).html;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<title>Reset password</title>"));
    assert!(html.trim_end().ends_with("</html>"));
    for tag in ["html", "head", "body", "table", "tr", "td", "a"] {
        let opened =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        assert_eq!(opened, closed, "<{tag}>");
    }
}

fn write(dir: &Path, relative: &str, content: &str) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn overrides_replace_single_templates() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/password_reset.subject.hbs",
        "{{Subject}} for {{Username}}\n",
    );
    write(
        dir.path(),
        "en/password_reset.html.hbs",
        "<p>{{Greeting}} {{{Text}}} <a href=\"{{URL}}\">{{ButtonText}}</a></p>",
    );
    write(
        dir.path(),
        "de/password_reset.sms.hbs",
        "  Code {{Code}} – {{URL}}\n",
    );
    write(dir.path(), "fr/password_reset.subject.hbs", "{{Nope}");
    let renderer = HandlebarsMessages::new(Some(dir.path())).unwrap();

    let en = renderer.password_reset(&data(Some("en"))).unwrap();
    assert_eq!(en.subject, "Reset password for ada");
    assert_eq!(value(&en, "subject"), "Reset password for ada");
    assert!(en.html.starts_with("<p>Hello Ada Lovelace, We received"));
    assert_eq!(en.sms, format!("Reset password (Code K7Q2ZD): {LINK}"));
    assert!(en.text.starts_with("Hello Ada Lovelace,"));

    let de = renderer.password_reset(&data(Some("de"))).unwrap();
    assert_eq!(de.sms, format!("Code K7Q2ZD – {LINK}"));
    assert_eq!(de.subject, "Passwort zurücksetzen");
    assert!(de.html.contains("<html lang=\"de\">"));
}

#[test]
fn a_broken_override_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "de/password_reset.html.hbs",
        "<p>{{#if Code}}unclosed</p>",
    );
    let error = HandlebarsMessages::new(Some(dir.path())).unwrap_err();
    assert!(error.contains("de/password_reset.html.hbs:1:"), "{error}");
}

#[test]
fn an_override_with_an_unknown_variable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/password_reset.text.hbs",
        "{{Greeting}} {{LoginName}}",
    );
    let error = HandlebarsMessages::new(Some(dir.path())).unwrap_err();
    assert!(error.contains("LoginName"), "{error}");
    assert!(error.contains("en/password_reset.text.hbs"), "{error}");
}

#[test]
fn an_empty_or_missing_directory_keeps_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let with_dir = HandlebarsMessages::new(Some(dir.path())).unwrap();
    assert_eq!(with_dir.password_reset(&data(None)).unwrap(), render(None));
    let missing = dir.path().join("nope");
    let with_missing = HandlebarsMessages::new(Some(&missing)).unwrap();
    assert_eq!(
        with_missing.password_reset(&data(Some("de"))).unwrap(),
        render(Some("de"))
    );
}

#[test]
fn debug_shows_no_content() {
    let debug = format!("{:?}", render(None));
    assert!(!debug.contains("K7Q2ZD"));
    let renderer = format!("{:?}", HandlebarsMessages::new(None).unwrap());
    assert!(renderer.starts_with("HandlebarsMessages"));
}

//! Message templates: the password-reset message and the password-changed notice as subject,
//! HTML body, text body and SMS text, per language, with handlebars.

use std::path::Path;

use handlebars::Handlebars;
use rekey_application::ports::{MessageData, MessageRenderer, RenderedMessage, TemplateError};
use serde_json::{Map, Value};

/// A language rekey has texts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    English,
    German,
}

/// The messages rekey sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The reset link.
    PasswordReset,
    /// The notice that a password was changed.
    PasswordChanged,
}

impl Kind {
    const ALL: [Self; 2] = [Self::PasswordReset, Self::PasswordChanged];

    /// The file-name stem: `password_reset` or `password_changed`.
    fn name(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
        }
    }
}

impl Language {
    const ALL: [Self; 2] = [Self::English, Self::German];

    /// The directory name (and `lang` code) of the language.
    fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::German => "de",
        }
    }

    /// The language for a preferred language tag: its primary subtag decides (`de`, `de-CH`,
    /// `DE_at` → German); anything else, or none, is English.
    fn from_tag(tag: Option<&str>) -> Self {
        let primary = tag
            .and_then(|t| t.trim().split(['-', '_']).next())
            .unwrap_or_default();
        if primary.eq_ignore_ascii_case("de") {
            Self::German
        } else {
            Self::English
        }
    }

    fn texts(self, kind: Kind) -> &'static Texts {
        match (kind, self) {
            (Kind::PasswordReset, Self::English) => &ENGLISH,
            (Kind::PasswordReset, Self::German) => &GERMAN,
            (Kind::PasswordChanged, Self::English) => &ENGLISH_CHANGED,
            (Kind::PasswordChanged, Self::German) => &GERMAN_CHANGED,
        }
    }

    /// The built-in templates. Both messages share one layout per language; their texts differ.
    fn defaults(self) -> [(Part, &'static str); 4] {
        match self {
            Self::English => [
                (
                    Part::Subject,
                    include_str!("../templates/en/password_reset.subject.hbs"),
                ),
                (
                    Part::Html,
                    include_str!("../templates/en/password_reset.html.hbs"),
                ),
                (
                    Part::Text,
                    include_str!("../templates/en/password_reset.text.hbs"),
                ),
                (
                    Part::Sms,
                    include_str!("../templates/en/password_reset.sms.hbs"),
                ),
            ],
            Self::German => [
                (
                    Part::Subject,
                    include_str!("../templates/de/password_reset.subject.hbs"),
                ),
                (
                    Part::Html,
                    include_str!("../templates/de/password_reset.html.hbs"),
                ),
                (
                    Part::Text,
                    include_str!("../templates/de/password_reset.text.hbs"),
                ),
                (
                    Part::Sms,
                    include_str!("../templates/de/password_reset.sms.hbs"),
                ),
            ],
        }
    }
}

/// The four templates of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Html,
    Text,
    Sms,
}

impl Part {
    /// The file-name part (`password_reset.{name}.hbs`).
    fn name(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Html => "html",
            Self::Text => "text",
            Self::Sms => "sms",
        }
    }

    fn file_name(self, kind: Kind) -> String {
        format!("{}.{}.hbs", kind.name(), self.name())
    }
}

/// The texts of a message in one language (ZITADEL's defaults), each a handlebars template
/// over `DisplayName`, `Username`, `Code` and `URL`.
#[derive(Debug)]
struct Texts {
    title: &'static str,
    pre_header: &'static str,
    subject: &'static str,
    greeting: &'static str,
    text: &'static str,
    button_text: &'static str,
}

impl Texts {
    /// `(template-data key, template variable, text)` for each text.
    fn entries(&self) -> [(&'static str, &'static str, &'static str); 6] {
        [
            ("title", "Title", self.title),
            ("preHeader", "PreHeader", self.pre_header),
            ("subject", "Subject", self.subject),
            ("greeting", "Greeting", self.greeting),
            ("text", "Text", self.text),
            ("buttonText", "ButtonText", self.button_text),
        ]
    }
}

const ENGLISH: Texts = Texts {
    title: "Reset password",
    pre_header: "Reset password",
    subject: "Reset password",
    greeting: "Hello {{DisplayName}},",
    text: "We received a password reset request. Please use the button below to reset your \
           password. (Code {{Code}}) If you didn't ask for this mail, please ignore it.",
    button_text: "Reset password",
};

const GERMAN: Texts = Texts {
    title: "Passwort zurücksetzen",
    pre_header: "Passwort zurücksetzen",
    subject: "Passwort zurücksetzen",
    greeting: "Hallo {{DisplayName}},",
    text: "Wir haben eine Anfrage für das Zurücksetzen deines Passwortes bekommen. Du kannst den \
           untenstehenden Button verwenden, um dein Passwort zurückzusetzen (Code {{Code}}). \
           Falls du dieses Mail nicht angefordert hast, kannst du es ignorieren.",
    button_text: "Passwort zurücksetzen",
};

const ENGLISH_CHANGED: Texts = Texts {
    title: "Password changed",
    pre_header: "Password changed",
    subject: "The password of your user has changed",
    greeting: "Hello {{DisplayName}},",
    text: "The password of your user has changed. If this change was not done by you, please \
           reset your password immediately.",
    button_text: "Login",
};

const GERMAN_CHANGED: Texts = Texts {
    title: "Passwort geändert",
    pre_header: "Passwort geändert",
    subject: "Das Passwort deines Benutzers wurde geändert",
    greeting: "Hallo {{DisplayName}},",
    text: "Das Passwort deines Benutzers wurde geändert. Wenn diese Änderung nicht von dir \
           gemacht wurde, setze dein Passwort bitte sofort zurück.",
    button_text: "Anmelden",
};

/// Sample values a template is rendered with once at construction, so that a template naming
/// an unknown variable fails at start-up rather than at the first delivery.
const SAMPLE: MessageData<'static> = MessageData {
    language: None,
    display_name: "Ada Lovelace",
    username: "ada",
    code: "K7Q2ZD",
    link: "https://example.com/reset?code=K7Q2ZD",
};

/// The [`MessageRenderer`] on handlebars: ZITADEL's password-reset texts in English and
/// German, laid out as an email (subject, HTML, text) and an SMS.
///
/// # Language
/// The primary subtag of [`MessageData::language`] chooses the language: `de`, `de-CH`, … give
/// German; anything else, or no language, gives English.
///
/// # Templates
/// Each language has four templates, rendered in handlebars' strict mode (an unknown variable
/// is an error, not an empty string):
///
/// | file | what | escaping |
/// |---|---|---|
/// | `password_reset.subject.hbs` | the email subject (one line; whitespace is trimmed, line breaks become spaces) | none |
/// | `password_reset.html.hbs` | the email's HTML body | HTML (`{{…}}` escapes; `{{{…}}}` does not) |
/// | `password_reset.text.hbs` | the email's plain-text body | none |
/// | `password_reset.sms.hbs` | the SMS text (trimmed); it should contain `{{URL}}` | none |
///
/// They may use these variables:
///
/// - `DisplayName`, `Username`, `Code`, `URL` (the reset link): the message's values;
/// - `Title`, `PreHeader`, `Subject`, `Greeting`, `Text`, `ButtonText`: the language's texts,
///   already filled in with the values above (ZITADEL's wording, e.g. English `Greeting` =
///   "Hello {{DisplayName}},").
///
/// The defaults are built in. [`HandlebarsMessages::new`] with a directory replaces any of them:
/// `{dir}/en/password_reset.html.hbs` replaces the English HTML body,
/// `{dir}/de/password_reset.sms.hbs` the German SMS, and so on; missing files keep the default.
/// Only the `en` and `de` subdirectories are read.
///
/// # Output
/// [`RenderedMessage::template_data`] holds, under ZITADEL's HTTP-provider `templateData` names,
/// `title`, `preHeader`, `subject`, `greeting`, `text`, `buttonText` and `url` (plain text, not
/// escaped), followed by `args.code`, `args.displayName` and `args.userName`: the message's
/// values, which a webhook passes on as ZITADEL's `args`.
pub struct HandlebarsMessages {
    /// Subject, text and SMS templates and the texts: no escaping.
    plain: Handlebars<'static>,
    /// The HTML templates: HTML escaping.
    html: Handlebars<'static>,
}

impl HandlebarsMessages {
    /// The renderer with the built-in templates, each replaced by
    /// `{template_dir}/{en|de}/password_reset.{subject|html|text|sms}.hbs` where that file
    /// exists.
    ///
    /// # Errors
    /// A message naming the file, when a template file cannot be read, does not compile, or does
    /// not render with sample values (e.g. it uses an unknown variable).
    pub fn new(template_dir: Option<&Path>) -> Result<Self, String> {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);

        let mut origins = Vec::with_capacity(16);
        for (kind, language) in Kind::ALL
            .into_iter()
            .flat_map(|k| Language::ALL.into_iter().map(move |l| (k, l)))
        {
            for (key, _, text) in language.texts(kind).entries() {
                plain
                    .register_template_string(&text_name(kind, language, key), text)
                    .map_err(|e| {
                        format!("built-in {} text {key}: {}", language.code(), e.reason())
                    })?;
            }
            for (part, default) in language.defaults() {
                let (source, origin) = match template_dir {
                    Some(dir) => {
                        let path = dir.join(language.code()).join(part.file_name(kind));
                        match std::fs::read_to_string(&path) {
                            Ok(source) => (source, path.display().to_string()),
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                                (default.to_owned(), builtin(kind, language, part))
                            }
                            Err(e) => return Err(format!("{}: {e}", path.display())),
                        }
                    }
                    None => (default.to_owned(), builtin(kind, language, part)),
                };
                let registry = if part == Part::Html {
                    &mut html
                } else {
                    &mut plain
                };
                registry
                    .register_template_string(&part_name(kind, language, part), source)
                    .map_err(|e| match e.pos() {
                        Some((line, column)) => format!("{origin}:{line}:{column}: {}", e.reason()),
                        None => format!("{origin}: {}", e.reason()),
                    })?;
                origins.push((kind, language, part, origin));
            }
        }

        let messages = Self { plain, html };
        for (kind, language, part, origin) in origins {
            let sample = MessageData {
                language: Some(language.code()),
                ..SAMPLE
            };
            let values = messages
                .values(kind, language, &sample)
                .map_err(|e| format!("built-in {} texts: {}", language.code(), e.reason()))?
                .0;
            messages
                .registry(part)
                .render(&part_name(kind, language, part), &values)
                .map_err(|e| format!("{origin}: {}", e.reason()))?;
        }
        Ok(messages)
    }

    fn registry(&self, part: Part) -> &Handlebars<'static> {
        if part == Part::Html {
            &self.html
        } else {
            &self.plain
        }
    }

    /// The template values (the message's values and the language's texts filled in with them)
    /// and the texts as template data.
    fn values(
        &self,
        kind: Kind,
        language: Language,
        data: &MessageData<'_>,
    ) -> Result<(Value, Vec<(String, String)>), handlebars::RenderError> {
        let mut values = Map::new();
        values.insert("DisplayName".into(), Value::from(data.display_name));
        values.insert("Username".into(), Value::from(data.username));
        values.insert("Code".into(), Value::from(data.code));
        values.insert("URL".into(), Value::from(data.link));
        let base = Value::Object(values.clone());

        let mut template_data = Vec::with_capacity(10);
        for (key, variable, _) in language.texts(kind).entries() {
            let text = self.plain.render(&text_name(kind, language, key), &base)?;
            values.insert(variable.into(), Value::from(text.clone()));
            template_data.push((key.to_owned(), text));
        }
        Ok((Value::Object(values), template_data))
    }

    fn render(
        &self,
        kind: Kind,
        language: Language,
        data: &MessageData<'_>,
    ) -> Result<RenderedMessage, TemplateError> {
        let (full, mut template_data) = self
            .values(kind, language, data)
            .map_err(|e| render_failure(&e))?;

        let render = |part: Part| {
            self.registry(part)
                .render(&part_name(kind, language, part), &full)
                .map_err(|e| render_failure(&e))
        };
        let subject = one_line(&render(Part::Subject)?);
        let html = render(Part::Html)?;
        let text = render(Part::Text)?;
        let sms = render(Part::Sms)?.trim().to_owned();

        if let Some(entry) = template_data.iter_mut().find(|(key, _)| key == "subject") {
            entry.1.clone_from(&subject);
        }
        template_data.push(("url".to_owned(), data.link.to_owned()));
        template_data.push(("args.code".to_owned(), data.code.to_owned()));
        template_data.push(("args.displayName".to_owned(), data.display_name.to_owned()));
        template_data.push(("args.userName".to_owned(), data.username.to_owned()));

        Ok(RenderedMessage {
            subject,
            html,
            text,
            sms,
            template_data,
        })
    }
}

impl MessageRenderer for HandlebarsMessages {
    fn password_reset(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError> {
        self.render(Kind::PasswordReset, Language::from_tag(data.language), data)
    }

    fn password_changed(&self, data: &MessageData<'_>) -> Result<RenderedMessage, TemplateError> {
        self.render(
            Kind::PasswordChanged,
            Language::from_tag(data.language),
            data,
        )
    }
}

impl std::fmt::Debug for HandlebarsMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlebarsMessages").finish_non_exhaustive()
    }
}

fn text_name(kind: Kind, language: Language, key: &str) -> String {
    format!("{}/{}/text.{key}", kind.name(), language.code())
}

fn part_name(kind: Kind, language: Language, part: Part) -> String {
    format!("{}/{}/{}", kind.name(), language.code(), part.name())
}

fn builtin(kind: Kind, language: Language, part: Part) -> String {
    format!("built-in {}/{}", language.code(), part.file_name(kind))
}

/// Trims a subject and joins its lines with spaces (a header is one line).
fn one_line(subject: &str) -> String {
    subject.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps a handlebars render error; its message names template parts, never a value.
fn render_failure(error: &handlebars::RenderError) -> TemplateError {
    let reason = error.reason().to_string();
    match &error.template_name {
        Some(name) => TemplateError::Render(format!("{name}: {reason}")),
        None => TemplateError::Render(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_subtag_chooses_the_language() {
        for tag in ["de", "de-CH", "DE", "de_AT", " de "] {
            assert_eq!(Language::from_tag(Some(tag)), Language::German, "{tag}");
        }
        for tag in ["en", "en-US", "fr", "", "deu", "d", "-de"] {
            assert_eq!(Language::from_tag(Some(tag)), Language::English, "{tag}");
        }
        assert_eq!(Language::from_tag(None), Language::English);
    }

    #[test]
    fn subject_is_one_line() {
        assert_eq!(one_line("  a\r\n b\tc \n"), "a b c");
    }
}

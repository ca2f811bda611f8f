//! Url templates: checking and rendering them with handlebars.

use std::sync::{Arc, Mutex, PoisonError};

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{
    Context, Handlebars, Path, PathSeg, RenderContext, RenderError, RenderErrorReason, Renderable,
    StringOutput, Template,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rekey_application::ports::{LinkData, LinkRenderer, TemplateError};
use rekey_domain::UrlTemplate;
use serde_json::{Map, Value};

/// The variables a url template may use.
const VARIABLES: [&str; 3] = ["UserID", "Code", "OrgID"];

/// The helpers a url template may call: conditionals and comparisons, nothing that loops,
/// looks data up, logs or includes other templates.
const HELPERS: [&str; 7] = ["if", "unless", "eq", "ne", "and", "or", "not"];

/// handlebars' built-in helpers that are not in [`HELPERS`]; they are removed from the registry.
const REMOVED_HELPERS: [&str; 10] = [
    "each", "with", "lookup", "raw", "log", "gt", "gte", "lt", "lte", "len",
];

/// Compiled templates kept for the next render: most links come from one configured template
/// (or a few a login UI sends), and compiling one cost about as much as rendering it.
const COMPILED: usize = 16;

/// Bytes a value keeps as they are in a link: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The values [`LinkRenderer::validate`] renders a template with.
const SAMPLE: LinkData<'static> = LinkData {
    user_id: "123",
    org_id: "456",
    code: "ABC",
};

/// The [`LinkRenderer`] on handlebars.
///
/// Templates use `UserID`, `Code` and `OrgID`, written the handlebars way (`{{Code}}`) or
/// ZITADEL's Go-template way (`{{.Code}}`, `{{ .Code }}`). Each value is percent-encoded (all but
/// RFC 3986's unreserved characters `A-Z a-z 0-9 - . _ ~`), so it is safe anywhere in a URL;
/// the template's own text is left exactly as written, and nothing is HTML-escaped.
///
/// Besides the three variables a template may use the `if`, `unless`, `eq`, `ne`, `and`, `or`
/// and `not` helpers. Anything else (another variable, another helper, partials, decorators,
/// unescaped `{{{…}}}` output) does not render. Rendering is therefore linear in the template's
/// length.
pub struct HandlebarsLinks {
    registry: Handlebars<'static>,
    /// The last [`COMPILED`] templates that compiled, rendered and were accepted (see
    /// [`HandlebarsLinks::render_checked`]), by their text, the newest last.
    cache: Mutex<Vec<(Box<str>, Arc<Template>)>>,
}

impl HandlebarsLinks {
    /// A renderer: strict mode, percent-encoding escape, only the allowed helpers registered.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(percent_encode);
        for helper in REMOVED_HELPERS {
            registry.unregister_helper(helper);
        }
        Self {
            registry,
            cache: Mutex::default(),
        }
    }

    /// `template` rendered with `data`, then accepted (or not) by `accept`, which is given
    /// the template's text and the link. A template that compiled, passed the element checks,
    /// rendered and was accepted is kept compiled for the next time; `accept` runs every time.
    fn render_checked(
        &self,
        template: &str,
        data: &LinkData<'_>,
        accept: fn(&str, &str) -> Result<(), TemplateError>,
    ) -> Result<String, TemplateError> {
        let kept = self.kept(template);
        let compiled = match &kept {
            Some(compiled) => Arc::clone(compiled),
            None => Arc::new(compile(template)?),
        };
        let link = self.render_compiled(&compiled, data)?;
        accept(template, &link)?;
        if kept.is_none() {
            self.keep(template, compiled);
        }
        Ok(link)
    }

    /// The compiled `template`, when it is kept.
    fn kept(&self, template: &str) -> Option<Arc<Template>> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|(text, _)| **text == *template)
            .map(|(_, compiled)| Arc::clone(compiled))
    }

    /// Keeps `compiled` as `template`'s, in place of the oldest when [`COMPILED`] are kept.
    fn keep(&self, template: &str, compiled: Arc<Template>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.iter().any(|(text, _)| **text == *template) {
            return;
        }
        if cache.len() == COMPILED {
            cache.remove(0);
        }
        cache.push((template.into(), compiled));
    }

    fn render_compiled(
        &self,
        compiled: &Template,
        data: &LinkData<'_>,
    ) -> Result<String, TemplateError> {
        let mut values = Map::new();
        values.insert("UserID".to_owned(), Value::from(data.user_id));
        values.insert("Code".to_owned(), Value::from(data.code));
        values.insert("OrgID".to_owned(), Value::from(data.org_id));
        // Render the compiled template (render_template would compile it again).
        let context = Context::from(Value::Object(values));
        let mut output = StringOutput::new();
        compiled
            .render(
                &self.registry,
                &context,
                &mut RenderContext::new(None),
                &mut output,
            )
            .map_err(|e| render_failure(&e))?;
        output
            .into_string()
            .map_err(|e| TemplateError::Render(e.to_string()))
    }
}

/// `template` compiled, with only the allowed variables, helpers and elements.
fn compile(template: &str) -> Result<Template, TemplateError> {
    let compiled = Template::compile(&normalize(template))
        .map_err(|e| TemplateError::Parse(e.reason().to_string()))?;
    check_elements(&compiled.elements).map_err(TemplateError::Render)?;
    Ok(compiled)
}

impl Default for HandlebarsLinks {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HandlebarsLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlebarsLinks")
            .field("strict_mode", &self.registry.strict_mode())
            .finish_non_exhaustive()
    }
}

impl LinkRenderer for HandlebarsLinks {
    fn validate(&self, template: &UrlTemplate) -> Result<(), TemplateError> {
        self.render_checked(template.as_str(), &SAMPLE, http_link)
            .map(drop)
            .inspect_err(|e| tracing::debug!(error = %e, "url template rejected"))
    }

    fn render(&self, template: &str, data: &LinkData<'_>) -> Result<String, TemplateError> {
        self.render_checked(template, data, |_, _| Ok(()))
    }
}

/// Whether `template`, rendered as `link`, gives an absolute `https:` or `http:` URL whatever
/// values it is rendered with: its literal text starts with the scheme and `//` (so no value
/// or condition can change them), and a host follows. Anything else (`javascript:`, `data:`,
/// a relative or scheme-relative link) would go into a mail's `href` as it is.
fn http_link(template: &str, link: &str) -> Result<(), TemplateError> {
    let starts = |text: &str, prefix: &str| {
        text.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    let Some(prefix) = ["https://", "http://"]
        .into_iter()
        .find(|prefix| starts(template, prefix))
    else {
        let scheme = link
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| {
                (1..=32).contains(&scheme.len())
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            })
            .map(str::to_ascii_lowercase);
        return Err(TemplateError::NotHttp(match scheme {
            Some(scheme) if scheme == "https" || scheme == "http" => format!(
                "it must start with {scheme}:// written out, not made by a placeholder or condition"
            ),
            Some(scheme) => format!("it gives a {scheme}: link"),
            None => "it gives a relative link".to_owned(),
        }));
    };
    let host = link
        .get(prefix.len()..)
        .and_then(|rest| rest.chars().next());
    if host.is_some_and(|c| !"/\\?#".contains(c) && !c.is_whitespace() && !c.is_control()) {
        Ok(())
    } else {
        Err(TemplateError::NotHttp(format!(
            "it has no host after {prefix}"
        )))
    }
}

/// The escape function: percent-encodes a value for a URL.
fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Rewrites ZITADEL's Go-template fields to handlebars paths: `{{.Name}}` and `{{ .Name }}`
/// become `{{Name}}`, `{{.A.B}}` becomes `{{A.B}}`. Anything else is copied as it is, including
/// escaped `\{{` and the `{{{…}}}` forms.
fn normalize(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let (before, tag) = rest.split_at(start);
        out.push_str(before);
        let braces = tag.len() - tag.trim_start_matches('{').len();
        if braces > 2 || before.ends_with('\\') {
            out.push_str(&tag[..braces]);
            rest = &tag[braces..];
        } else if let Some((fields, len)) = go_field(tag) {
            out.push_str("{{");
            out.push_str(fields);
            out.push_str("}}");
            rest = &tag[len..];
        } else {
            out.push_str("{{");
            rest = &tag[2..];
        }
    }
    out.push_str(rest);
    out
}

/// If `tag` (which starts with `{{`) opens with a Go field reference like `{{ .A.B }}`, the
/// path without its leading dot (`A.B`) and the length of the whole reference.
fn go_field(tag: &str) -> Option<(&str, usize)> {
    let inner_len = tag.get(2..)?.find("}}")?;
    let inner = tag
        .get(2..2 + inner_len)?
        .trim_matches([' ', '\t', '\r', '\n']);
    let fields = inner.strip_prefix('.')?;
    fields
        .split('.')
        .all(is_identifier)
        .then_some((fields, 2 + inner_len + 2))
}

/// Whether `s` is a Go identifier (ASCII only): a letter or `_`, then letters, digits or `_`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a compiled template: only the allowed variables and helpers, no partials, decorators
/// or unescaped output. The error says what is not allowed.
fn check_elements(elements: &[TemplateElement]) -> Result<(), String> {
    for element in elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(helper) | TemplateElement::HelperBlock(helper) => {
                check_helper(helper)?;
            }
            TemplateElement::HtmlExpression(_) => {
                return Err("unescaped output ({{{…}}} or {{&…}}) is not allowed".to_owned());
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                return Err("partials are not allowed".to_owned());
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                return Err("decorators are not allowed".to_owned());
            }
            _ => return Err("unsupported template element".to_owned()),
        }
    }
    Ok(())
}

/// Checks an expression or block: a plain `{{Name}}` must name an allowed variable; a helper
/// call must name an allowed helper, with allowed arguments.
fn check_helper(helper: &HelperTemplate) -> Result<(), String> {
    let is_call = helper.block || !helper.params.is_empty() || !helper.hash.is_empty();
    if is_call {
        match &helper.name {
            Parameter::Name(name) if HELPERS.contains(&name.as_str()) => {}
            Parameter::Name(name) => return Err(format!("helper {name} is not allowed")),
            Parameter::Path(path) => return Err(format!("helper {} is not allowed", raw(path))),
            _ => return Err("only named helpers are allowed".to_owned()),
        }
    } else {
        check_parameter(&helper.name)?;
    }
    for parameter in helper.params.iter().chain(helper.hash.values()) {
        check_parameter(parameter)?;
    }
    for template in [&helper.template, &helper.inverse].into_iter().flatten() {
        check_elements(&template.elements)?;
    }
    Ok(())
}

/// Checks a value: a literal, an allowed variable, or an allowed helper's result.
fn check_parameter(parameter: &Parameter) -> Result<(), String> {
    match parameter {
        Parameter::Literal(_) => Ok(()),
        Parameter::Name(name) => check_variable(name),
        Parameter::Path(Path::Relative((segments, raw))) => match segments.as_slice() {
            [PathSeg::Named(name)] => check_variable(name),
            _ => Err(unknown_variable(raw)),
        },
        Parameter::Path(Path::Local((_, _, raw))) => Err(unknown_variable(raw)),
        Parameter::Subexpression(sub) => match sub.element.as_ref() {
            TemplateElement::Expression(helper) => check_helper(helper),
            _ => Err("unsupported subexpression".to_owned()),
        },
        _ => Err("unsupported parameter".to_owned()),
    }
}

fn check_variable(name: &str) -> Result<(), String> {
    if VARIABLES.contains(&name) {
        Ok(())
    } else {
        Err(unknown_variable(name))
    }
}

fn unknown_variable(name: &str) -> String {
    format!("unknown placeholder {name}; use UserID, Code or OrgID")
}

fn raw(path: &Path) -> &str {
    match path {
        Path::Relative((_, raw)) | Path::Local((_, _, raw)) => raw,
    }
}

/// Maps a handlebars render error; its message names template parts, never a value.
fn render_failure(error: &RenderError) -> TemplateError {
    match error.reason() {
        RenderErrorReason::TemplateError(e) => TemplateError::Parse(e.reason().to_string()),
        RenderErrorReason::MissingVariable(Some(name)) => {
            TemplateError::Render(unknown_variable(name))
        }
        RenderErrorReason::HelperNotFound(name) => {
            TemplateError::Render(format!("helper {name} is not allowed"))
        }
        reason => TemplateError::Render(reason.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ZITADEL: &str =
        "https://example.com/pw?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}";

    fn data(code: &str) -> LinkData<'_> {
        LinkData {
            user_id: "u1",
            org_id: "o1",
            code,
        }
    }

    fn render(template: &str) -> Result<String, TemplateError> {
        HandlebarsLinks::new().render(template, &data("K7Q2ZD"))
    }

    fn validate(template: &str) -> Result<(), TemplateError> {
        HandlebarsLinks::default().validate(&UrlTemplate::try_from(template.to_owned()).unwrap())
    }

    fn is_parse(result: Result<(), TemplateError>) -> bool {
        matches!(result, Err(TemplateError::Parse(_)))
    }

    fn is_render(result: Result<(), TemplateError>) -> bool {
        matches!(result, Err(TemplateError::Render(_)))
    }

    #[test]
    fn a_compiled_template_is_kept_and_renders_each_request_its_own_values() {
        let links = HandlebarsLinks::new();
        let first = links.render(ZITADEL, &data("FIRST1")).unwrap();
        let second = links.render(ZITADEL, &data("SECOND")).unwrap();
        assert_eq!(
            (first.as_str(), second.as_str()),
            (
                "https://example.com/pw?userID=u1&code=FIRST1&orgID=o1",
                "https://example.com/pw?userID=u1&code=SECOND&orgID=o1"
            )
        );
        let other = links
            .render("https://example.com/{{Code}}", &data("THIRD3"))
            .unwrap();
        assert_eq!(other, "https://example.com/THIRD3");
        assert_eq!(links.cache.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_kept_template_is_rendered_without_compiling_its_text_again() {
        let links = HandlebarsLinks::new();
        let (text, kept) = ("https://a.example/{{Code}}", "https://b.example/{{Code}}");
        links.keep(text, Arc::new(compile(kept).unwrap()));
        // Only a render that took the kept template gives b's link for a's text.
        assert_eq!(
            links.render(text, &data("C")).unwrap(),
            "https://b.example/C"
        );
        assert_eq!(links.cache.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_warm_cache_validates_as_a_cold_one() {
        let links = HandlebarsLinks::new();
        // Rendering does not check the scheme (validation did, when the request came): a
        // template rendered once is kept, and still fails validation every time after.
        let javascript = "javascript:alert(1)//{{.Code}}";
        links.render(javascript, &data("C")).unwrap();
        let template = UrlTemplate::try_from(javascript.to_owned()).unwrap();
        for _ in 0..2 {
            assert!(matches!(
                links.validate(&template),
                Err(TemplateError::NotHttp(_))
            ));
        }
        let secret = UrlTemplate::try_from("https://x/{{Secret}}".to_owned()).unwrap();
        for _ in 0..2 {
            assert!(is_render(links.validate(&secret)));
        }
        let before = links.cache.lock().unwrap().len();
        assert!(matches!(
            links.render("https://x/{{", &data("C")),
            Err(TemplateError::Parse(_))
        ));
        assert_eq!(links.cache.lock().unwrap().len(), before);
        // A template that failed validation is not kept by it.
        let fresh = HandlebarsLinks::new();
        assert!(fresh.validate(&template).is_err());
        assert!(fresh.cache.lock().unwrap().is_empty());
    }

    #[test]
    fn the_cache_of_compiled_templates_is_bounded_and_keeps_no_rejected_one() {
        let links = HandlebarsLinks::new();
        for n in 0..COMPILED + 5 {
            let template = format!("https://example.com/{n}/{{{{Code}}}}");
            assert_eq!(
                links.render(&template, &data("C")).unwrap(),
                format!("https://example.com/{n}/C")
            );
        }
        assert!(
            links
                .render("https://example.com/{{Secret}}", &data("C"))
                .is_err()
        );
        let cache = links.cache.lock().unwrap();
        assert_eq!(cache.len(), COMPILED);
        assert_eq!(&*cache[0].0, "https://example.com/5/{{Code}}");
        assert!(cache.iter().all(|(text, _)| !text.contains("Secret")));
    }

    fn is_not_http(result: Result<(), TemplateError>) -> Option<String> {
        match result {
            Err(TemplateError::NotHttp(message)) => Some(message),
            _ => None,
        }
    }

    #[test]
    fn only_absolute_http_links_are_valid() {
        for good in [
            ZITADEL,
            "http://localhost:8080/set?c={{Code}}",
            "HTTPS://Example.com/{{.UserID}}",
            "https://{{OrgID}}.example.com/?c={{Code}}",
        ] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            (
                "javascript:alert(1)//{{.Code}}",
                "it gives a javascript: link",
            ),
            (" javascript:alert(1)", "it gives a relative link"),
            ("JavaScript:x", "it gives a javascript: link"),
            ("data:text/html,{{Code}}", "it gives a data: link"),
            ("vbscript:{{Code}}", "it gives a vbscript: link"),
            ("//evil.example/?c={{Code}}", "it gives a relative link"),
            ("/set?c={{Code}}", "it gives a relative link"),
            ("u={{UserID}}", "it gives a relative link"),
            (
                "https:/x?c={{Code}}",
                "it must start with https:// written out, not made by a placeholder or condition",
            ),
            (
                "{{#if Code}}https://x{{/if}}?c={{Code}}",
                "it must start with https:// written out, not made by a placeholder or condition",
            ),
            ("https:///evil.example", "it has no host after https://"),
            ("https://", "it has no host after https://"),
            ("http://?c={{Code}}", "it has no host after http://"),
        ] {
            assert_eq!(is_not_http(validate(bad)).as_deref(), Some(says), "{bad}");
        }
        // Parse and render errors come first, as in ZITADEL.
        assert!(is_parse(validate("javascript:{{")));
        assert!(is_render(validate("javascript:{{.LoginName}}")));
    }

    #[test]
    fn zitadel_template_renders_with_values() {
        assert_eq!(validate(ZITADEL), Ok(()));
        assert_eq!(
            render(ZITADEL).unwrap(),
            "https://example.com/pw?userID=u1&code=K7Q2ZD&orgID=o1"
        );
    }

    #[test]
    fn values_are_percent_encoded() {
        let link = HandlebarsLinks::new()
            .render("https://x/?c={{.Code}}", &data("a&b=c/d e"))
            .unwrap();
        assert_eq!(link, "https://x/?c=a%26b%3Dc%2Fd%20e");
        let link = HandlebarsLinks::new()
            .render("{{Code}}", &data("AZaz09-._~<>\"'ä"))
            .unwrap();
        assert_eq!(link, "AZaz09-._~%3C%3E%22%27%C3%A4");
    }

    #[test]
    fn handlebars_placeholders_work() {
        assert_eq!(render("u={{UserID}}").unwrap(), "u=u1");
        assert_eq!(validate("https://x/?u={{UserID}}"), Ok(()));
    }

    #[test]
    fn go_placeholders_with_spaces_work() {
        assert_eq!(render("c={{ .Code }}").unwrap(), "c=K7Q2ZD");
        assert_eq!(render("c={{\t.Code\n}}").unwrap(), "c=K7Q2ZD");
        assert_eq!(validate("https://x/?c={{ .Code }}&o={{ OrgID }}"), Ok(()));
    }

    #[test]
    fn unclosed_braces_do_not_parse() {
        assert!(is_parse(validate("{{")));
        assert!(is_parse(validate("https://x/?c={{.Code")));
        assert!(is_parse(validate("{{.}}")));
        assert!(is_parse(validate("{{.Code | urlquery}}")));
        assert!(is_parse(validate("{{#if Code}}x")));
        assert!(matches!(
            render("{{"),
            Err(TemplateError::Parse(message)) if !message.is_empty()
        ));
    }

    #[test]
    fn unknown_variables_do_not_render() {
        assert!(is_render(validate("{{.LoginName}}")));
        assert!(is_render(validate("{{LoginName}}")));
        assert!(is_render(validate("{{.Code.Length}}")));
        assert!(is_render(validate("{{@root.Code}}")));
        assert!(is_render(validate("{{../Code}}")));
        assert!(is_render(validate("{{this}}")));
        assert!(is_render(validate("{{#if LoginName}}x{{/if}}")));
        assert!(is_render(validate("{{#if (eq LoginName \"a\")}}x{{/if}}")));
        assert_eq!(
            validate("{{.LoginName}}"),
            Err(TemplateError::Render(unknown_variable("LoginName")))
        );
    }

    #[test]
    fn other_helpers_partials_and_decorators_do_not_render() {
        for template in [
            "{{log Code}}",
            "{{#each Code}}x{{/each}}",
            "{{#with Code}}x{{/with}}",
            "{{lookup Code 0}}",
            "{{len Code}}",
            "{{#Code}}x{{/Code}}",
            "{{{{raw}}}}{{Code}}{{{{/raw}}}}",
            "{{> other}}",
            "{{#> other}}x{{/other}}",
            "{{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}",
            "{{*inline \"p\"}}",
            "{{{Code}}}",
            "{{&Code}}",
        ] {
            let result = validate(template);
            assert!(is_render(result.clone()), "{template}: {result:?}");
        }
    }

    #[test]
    fn registry_has_no_removed_helpers() {
        let links = HandlebarsLinks::new();
        for helper in REMOVED_HELPERS {
            let template = format!("{{{{{helper} Code}}}}");
            let result = links
                .registry
                .render_template(&template, &serde_json::json!({ "Code": "c" }));
            assert!(result.is_err(), "{template} rendered: {result:?}");
        }
    }

    #[test]
    fn allowed_helpers_work() {
        assert_eq!(render("{{#if Code}}x{{/if}}").unwrap(), "x");
        assert_eq!(render("{{this.Code}}").unwrap(), "K7Q2ZD");
        assert_eq!(validate("https://x/{{#if Code}}x{{/if}}"), Ok(()));
        assert_eq!(
            render("{{#unless OrgID}}none{{else}}o={{OrgID}}{{/unless}}").unwrap(),
            "o=o1"
        );
        assert_eq!(
            render("{{#if (eq OrgID \"o1\")}}a{{else if Code}}b{{/if}}").unwrap(),
            "a"
        );
        assert_eq!(
            render("{{#if (and (not (ne UserID \"u1\")) Code)}}y{{/if}}").unwrap(),
            "y"
        );
    }

    #[test]
    fn template_text_is_untouched() {
        assert_eq!(
            render("https://x/a&b=<c>\"d\"?e=f&g={{Code}}#h").unwrap(),
            "https://x/a&b=<c>\"d\"?e=f&g=K7Q2ZD#h"
        );
        assert_eq!(render(r"a\{{.Code}}").unwrap(), "a{{.Code}}");
        assert_eq!(render("{{!-- note --}}x").unwrap(), "x");
    }

    #[test]
    fn plain_text_is_valid() {
        assert_eq!(validate("https://x"), Ok(()));
        assert_eq!(render("x").unwrap(), "x");
        assert_eq!(
            render("https://example.com/reset").unwrap(),
            "https://example.com/reset"
        );
    }

    #[test]
    fn normalize_rewrites_go_fields_only() {
        assert_eq!(normalize("{{.A}}{{ .B }}{{.C.D}}"), "{{A}}{{B}}{{C.D}}");
        assert_eq!(normalize("{{#if .A}}{{/if}}"), "{{#if .A}}{{/if}}");
        assert_eq!(normalize("{{{.A}}}"), "{{{.A}}}");
        assert_eq!(normalize(r"\{{.A}}"), r"\{{.A}}");
        assert_eq!(
            normalize("{{.}}{{..A}}{{.1}}{{.A"),
            "{{.}}{{..A}}{{.1}}{{.A"
        );
        assert_eq!(normalize("ä{{.Ä}}ö{{.B}}"), "ä{{.Ä}}ö{{B}}");
    }

    #[test]
    fn debug_does_not_show_values() {
        let debug = format!("{:?}", HandlebarsLinks::new());
        assert!(debug.starts_with("HandlebarsLinks"));
    }
}

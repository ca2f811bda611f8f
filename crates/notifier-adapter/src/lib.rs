//! The notification adapter: what turns a queued reset message into something a user receives.
//!
//! For now this crate holds the url-template part: [`HandlebarsLinks`] implements the
//! [`LinkRenderer`](rekey_application::ports::LinkRenderer) port. It checks the `urlTemplate` of
//! a PasswordReset request and renders the link a message carries, with handlebars in strict
//! mode, and accepts ZITADEL's Go-template placeholders (`{{.Code}}`) as well as handlebars'
//! own (`{{Code}}`). Values are percent-encoded into the link; the template text is not touched.
//!
//! Later this crate will also hold the email and SMS senders that deliver the messages.

mod links;

pub use links::HandlebarsLinks;

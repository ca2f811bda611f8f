//! The W3C trace context (`traceparent`) of a request, read from its header by both adapters,
//! and of a queued message, read back by the delivery worker.

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The span context a `traceparent` value names (`00-<trace id>-<span id>-<flags>`, lower-case
/// hex), or `None` when it does not parse or names the invalid all-zero ids.
#[must_use]
pub fn parse(traceparent: &str) -> Option<SpanContext> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    // Version 00 has exactly four parts; a later version may add some (W3C: read the first four).
    if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if !(hex(version, 2) && hex(trace, 32) && hex(span, 16) && hex(flags, 2)) {
        return None;
    }
    let context = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()? & 1),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

/// Makes `span` (created, not yet entered) a child of the span `traceparent` names, when it
/// parses. Nothing happens when traces are not exported.
pub fn adopt(span: &tracing::Span, traceparent: &str) {
    if let Some(remote) = parse(traceparent) {
        let _ = span.set_parent(Context::new().with_remote_span_context(remote));
    }
}

/// [`adopt`], and a link to the same span: the delivery of a queued message, in the trace of
/// the request that queued it.
pub fn adopt_and_link(span: &tracing::Span, traceparent: &str) {
    if let Some(remote) = parse(traceparent)
        && span
            .set_parent(Context::new().with_remote_span_context(remote.clone()))
            .is_ok()
    {
        span.add_link(remote);
    }
}

/// The `traceparent` of the current span, when it is part of an exported trace.
#[must_use]
pub fn current() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let found = span.span_context();
    found.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            found.trace_id(),
            found.span_id(),
            found.trace_flags().to_u8()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_w3c_examples_and_refuses_the_rest() {
        let context =
            parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(context.is_sampled() && context.is_remote());
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later").is_some());
        for wrong in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
        ] {
            assert!(parse(wrong).is_none(), "{wrong:?}");
        }
    }
}

//! Traces: a real OTLP/HTTP receiver (a mock server that keeps what it is sent, decoded here
//! with the OTLP protobuf types) gets one trace from a sendLink request, with the caller's
//! `traceparent` as its parent, down to the delivery of its mail; gRPC's `traceparent` is a
//! parent too; and no span carries a code, a token or an address.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Backend, Rekey, on_both_backends};
use crate::smtp::links_in_mail_files;

on_both_backends!(a_reset_is_one_trace_from_the_callers_span_to_its_delivery);

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const GRPC_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const GRPC_CALLER_SPAN: &str = "b7ad6b7169203331";

/// Every span the receiver was sent.
async fn received_spans(receiver: &MockServer) -> Vec<Span> {
    receiver
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .flat_map(|request| {
            ExportTraceServiceRequest::decode(request.body.as_slice())
                .expect("an OTLP protobuf body")
                .resource_spans
        })
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text_values(span: &Span) -> Vec<String> {
    let mut values = vec![span.name.clone()];
    for attribute in &span.attributes {
        values.push(attribute.key.clone());
        if let Some(AnyValue::StringValue(text)) =
            attribute.value.as_ref().and_then(|v| v.value.clone())
        {
            values.push(text);
        }
    }
    values
}

async fn a_reset_is_one_trace_from_the_callers_span_to_its_delivery(backend: Backend) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let endpoint = format!("{}/v1/traces", receiver.uri());
    let mut rekey = Rekey::start(backend, &[("REKEY__OTEL__ENDPOINT", endpoint.as_str())]).await;
    let user = rekey.add_user(&rekey.org_id, "ada", None).await;
    let admin = rekey.admin_token.clone();

    let answer = reqwest::Client::new()
        .post(format!("{}/v2/users/{user}/password_reset", rekey.base))
        .bearer_auth(&admin)
        .header("traceparent", format!("00-{TRACE}-{CALLER_SPAN}-01"))
        .json(
            &json!({ "sendLink": { "urlTemplate": "https://login.example/reset?code={{.Code}}" } }),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let links = links_in_mail_files(&rekey.dir.path().join("data/mail"), 1).await;
    let code = links[0].rsplit("code=").next().expect("a code").to_owned();
    rekey.remember(&code);

    // gRPC: the `traceparent` metadata is the parent of the call's span.
    let mut client = rekey_proto::zitadel::user::v2::user_service_client::UserServiceClient::new(
        rekey.grpc_channel(),
    );
    let mut request = tonic::Request::new(rekey_proto::zitadel::user::v2::GetUserByIdRequest {
        user_id: user.clone(),
    });
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {admin}").parse().expect("ascii"),
    );
    metadata.insert(
        "traceparent",
        format!("00-{GRPC_TRACE}-{GRPC_CALLER_SPAN}-01")
            .parse()
            .expect("ascii"),
    );
    client.get_user_by_id(request).await.expect("the user");

    // A graceful stop flushes what is still queued for export.
    assert_eq!(rekey.terminate(), Some(0));
    let spans = received_spans(&receiver).await;
    let by_id: HashMap<String, &Span> = spans.iter().map(|s| (hex(&s.span_id), s)).collect();
    let in_trace: Vec<&Span> = spans.iter().filter(|s| hex(&s.trace_id) == TRACE).collect();
    let named = |name: &str| {
        in_trace
            .iter()
            .copied()
            .filter(|s| s.name == name)
            .collect::<Vec<_>>()
    };
    let names: Vec<&str> = in_trace.iter().map(|s| s.name.as_str()).collect();

    let [request] = named("request")[..] else {
        panic!("one request span in the caller's trace: {names:?}")
    };
    assert_eq!(
        hex(&request.parent_span_id),
        CALLER_SPAN,
        "the caller's span is the parent"
    );
    let [use_case] = named("password_reset")[..] else {
        panic!("one use-case span: {names:?}")
    };
    // The use case runs under the request (through the handler's spans, if any).
    let mut ancestor = hex(&use_case.parent_span_id);
    while ancestor != hex(&request.span_id) {
        ancestor = hex(&by_id
            .get(&ancestor)
            .expect("an exported ancestor")
            .parent_span_id);
    }
    let database = named("db");
    assert!(
        database
            .iter()
            .any(|s| s.parent_span_id == use_case.span_id),
        "the use case's database calls: {names:?}"
    );
    let [delivery] = named("deliver")[..] else {
        panic!("one delivery span in the request's trace: {names:?}")
    };
    assert_eq!(
        delivery.parent_span_id, use_case.span_id,
        "the delivery continues the use case that queued it"
    );
    assert!(
        delivery.links.iter().any(|l| l.span_id == use_case.span_id),
        "and links to it"
    );

    let grpc = spans
        .iter()
        .find(|s| hex(&s.trace_id) == GRPC_TRACE && s.name == "call")
        .expect("the gRPC call's span, in the caller's trace");
    assert_eq!(hex(&grpc.parent_span_id), GRPC_CALLER_SPAN);

    let secrets = [
        code.as_str(),
        admin.as_str(),
        "ada@example.com",
        "example.com",
    ];
    for span in &spans {
        for value in text_values(span) {
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "span {} carries {secret:?} in {value:?}",
                    span.name
                );
            }
        }
    }
}

//! rekey-proto's tests: the wire bytes ZITADEL's clients send and receive, round trips, and
//! ZITADEL's names and field numbers read back from the compiled descriptors.

mod descriptors;
mod round_trip;
mod wire;

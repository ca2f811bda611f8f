//! rekey's use cases and the ports they need.
//!
//! Every port is a trait owned here and implemented by an adapter crate; every use case is a
//! function generic over [`Ports`], the bundle the server wires once. Nothing in this crate
//! names a framework, a database or an async runtime.

pub mod memo;
pub mod ports;
pub mod usecase;

mod failure;
mod message;

pub use failure::Failure;
pub use message::{OutboxMessage, ResetMessagePayload, Sealed, sealing_context};
pub use ports::Ports;

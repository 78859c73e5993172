//! # typecall
//!
//! Language models through Rust types: tools from functions, typed structured
//! output, and a runtime that drives the tool-calling loop against real model
//! servers (Cerebras first, any OpenAI-compatible server through the same code).
//!
//! The modules, in the order data flows:
//! - [`schema`]: Rust type → provider-ready JSON Schema, and validation of what
//!   comes back.
//! - [`tool`](mod@tool): what a tool is ([`tool::ToolDef`]), independent of any provider.
//! - [`chat`]: the provider-neutral conversation: messages, requests, responses,
//!   stream events.
//! - [`agent`]: the tool-calling loop: parallel, bounded, observable.
//! - [`output`]: structured output — ask for a `T`, get a validated `T`.
//! - [`provider`]: [`Cerebras`] and [`OpenAiCompat`] models behind the [`Model`]
//!   trait: the only place that knows a wire format.
//! - [`scoreboard`]: probes a model for every feature of the public Cerebras
//!   scoreboard and renders the table.
//! - `testing` (feature `testing`): replay recorded exchanges from a loopback
//!   server, and record new ones.
#![warn(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
// `Error` carries what a caller needs to act (the provider's message, the wait,
// the rate limits) by value; errors are the cold path, so its size is accepted.
#![allow(clippy::result_large_err)]

#[allow(unused_extern_crates)]
extern crate self as typecall;

pub mod agent;
pub mod chat;
pub mod error;
pub mod future;
#[cfg(test)]
mod fuzz;
pub mod output;
pub mod provider;
pub mod record;
pub mod schema;
pub mod scoreboard;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tool;
mod wire_numbers;

pub use agent::{Agent, AgentEvent, Run, ToolMode};
pub use error::{Error, Result};
pub use output::{Extract, OutputMode, extract, extract_many};
pub use provider::{Cerebras, Model, OpenAiCompat};
pub use tool::{Ctx, Tool, ToolSet};
pub use typecall_macros::{Tool, tool, tools};

/// Items the macros' generated code names. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

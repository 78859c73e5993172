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
//! - [`provider`]: [`Cerebras`], [`OpenAiCompat`], [`Anthropic`], [`Gemini`], [`OpenAiResponses`], [`Cloudflare`],
//!   Cohere, Ollama, Black Forest Labs and Pollinations models behind the [`Model`]
//!   trait: the only place that knows a wire format.
//! - `scoreboard` (feature `scoreboard`): probes a model for every feature of
//!   the public scoreboards and renders the tables.
//! - `testing` (feature `testing`): replay recorded exchanges from a loopback
//!   server, and record new ones.
//! - `mcp` (feature `mcp`): tools served over the Model Context Protocol, and
//!   an MCP server's tools for an agent.
//! - `durable` (feature `restate`): an agent's run as a Restate workflow, each
//!   model call and tool call a journaled step, approvals that wait.
//!
//! New here? The [`guide`] walks from a first tool to a typed agent, streaming
//! extraction and tests without a server; [`prelude`] imports what it uses.
#![warn(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
// `Error` carries what a caller needs to act (the provider's message, the wait,
// the rate limits) by value; errors are the cold path, so its size is accepted.

#[allow(unused_extern_crates)]
extern crate self as typecall;

pub mod agent;
pub mod chat;
#[cfg(feature = "restate")]
pub mod durable;
pub mod error;
pub mod future;
#[doc = include_str!("../../docs/guide.md")]
pub mod guide {}
#[cfg(test)]
mod fuzzing;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod output;
pub mod prelude;
pub mod provider;
mod record;
pub mod schema;
#[cfg(feature = "scoreboard")]
pub mod scoreboard;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tool;
mod wire_numbers;

pub use agent::{Agent, AgentEvent, Run, ToolMode};
pub use error::{Error, ErrorKind, Result};
pub use output::{Extract, OutputMode, extract, extract_many};
pub use provider::{Anthropic, Cerebras, Cloudflare, Gemini, Model, OpenAiCompat, OpenAiResponses};
pub use tool::{Ctx, Tool, ToolSet};
/// Turns a function into a tool a model can call.
///
/// The doc comment is the tool's description, `///` comments on parameters
/// describe the arguments, and the arguments' JSON Schema comes from their
/// types. A unit struct named after the function in CamelCase
/// (`get_weather` → `GetWeather`) implements [`Tool`]; if that name is taken
/// by a type of yours, choose another with `#[tool(type_name = "…")]`.
///
/// Options: `name = "…"`, `description = "…"`, `strict = false`,
/// `type_name = "…"`, `blocking` (a sync body on the blocking pool),
/// `sequential` (never two calls at once). A parameter of type `Ctx<S>` or
/// `&S` is taken from the run's context, not from the model.
///
/// Return any `T: Serialize` (strings go as text, `()` as `ok`, `None` as
/// `null`) or a `Result<T, E>` whose `E: Display`: an `Err` goes back to the
/// model as the tool's error, and the loop goes on.
///
/// ```
/// use typecall::{tool, tool::Toolbox};
///
/// /// Divide two numbers.
/// #[tool]
/// fn divide(
///     /// The dividend.
///     a: f64,
///     /// The divisor, not zero.
///     b: f64,
/// ) -> Result<f64, String> {
///     if b == 0.0 { Err("cannot divide by zero".into()) } else { Ok(a / b) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let tools = Toolbox::new().with(Divide).unwrap();
/// assert_eq!(tools.defs()[0].description, "Divide two numbers.");
/// assert_eq!(tools.call("divide", r#"{"a": 1, "b": 4}"#).await.unwrap().to_content(), "0.25");
/// let err = tools.call("divide", r#"{"a": 1, "b": 0}"#).await.unwrap_err();
/// assert!(err.to_string().contains("cannot divide by zero"));
/// # });
/// ```
#[doc(inline)]
pub use typecall_macros::tool;

/// Turns the methods of an `impl` block into tools that share the value.
///
/// Every `pub fn` with a `///` doc comment and a `&self` receiver is a tool
/// (the value is held in an `Arc`); `#[tool(...)]` on a method takes the
/// options of [`macro@tool`], `#[tool(skip)]` leaves one out. A `&self` method
/// that is `pub` without a doc comment, or documented but not `pub`, is a
/// compile error unless it says `#[tool(skip)]`.
///
/// ```
/// use typecall::{tools, tool::Toolbox};
///
/// /// A shop.
/// pub struct Shop { stock: u32 }
///
/// #[tools]
/// impl Shop {
///     /// How many items are in stock.
///     pub fn stock(&self) -> u32 { self.stock }
///     /// Whether `count` items can be ordered.
///     pub fn can_order(&self, count: u32) -> bool { count <= self.stock }
/// }
///
/// let tools = Toolbox::new().with_set(Shop { stock: 3 }).unwrap();
/// assert_eq!(tools.names(), ["stock", "can_order"]); // in the order written
/// ```
#[doc(inline)]
pub use typecall_macros::tools;

/// Makes a struct the arguments of a tool: its fields are the arguments, its
/// `call` method the body (sync or async, returning a value or a `Result`).
///
/// ```
/// use typecall::{Tool, tool::Toolbox};
///
/// /// Add two numbers.
/// #[derive(serde::Deserialize, schemars::JsonSchema, Tool)]
/// struct Add {
///     /// The first number.
///     a: i64,
///     /// The second.
///     b: i64,
/// }
///
/// impl Add {
///     fn call(self) -> i64 { self.a + self.b }
/// }
///
/// let tools = Toolbox::new().with(Add::tool()).unwrap();
/// assert_eq!(tools.names(), ["add"]);
/// ```
#[doc(inline)]
pub use typecall_macros::Tool;

/// Makes a struct's partial shape for streamed extraction: `TicketPartial` for
/// `Ticket`, every field an `Option` (a list holds its complete items), read
/// from each [`ExtractEvent::Partial`](output::ExtractEvent::Partial) with
/// [`ExtractEvent::partial`](output::ExtractEvent::partial). See
/// [`output::Partial`].
#[doc(inline)]
pub use typecall_macros::Partial;

/// Items the macros' generated code names: the one namespace it uses. Not a
/// public API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;

    /// What `#[tool]`, `#[tools]` and `#[derive(Tool)]` call.
    pub mod tool {
        pub use crate::tool::generated::*;
    }

    /// What `#[derive(Partial)]` calls.
    pub mod partial {
        pub use crate::output::typed::generated::*;
    }

    /// What `#[prompt]` and `#[resource]` call.
    #[cfg(feature = "mcp")]
    pub mod mcp {
        pub use crate::mcp::generated::*;
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

//! Tools over the [Model Context Protocol](https://modelcontextprotocol.io)
//! (feature `mcp`), both ways, on [`rmcp`], the official Rust SDK:
//!
//! - [`McpServer`] serves any [`Toolbox`](crate::tool::Toolbox) to MCP
//!   clients (editors, desktop assistants, other agents) over stdio or
//!   streamable HTTP: each tool with its input schema, description, title and
//!   hints, an `outputSchema` and `structuredContent` when its Rust return type
//!   has a schema, failures as `isError` results the client's model can read;
//!   results made of images, audio and embedded resources
//!   ([`ToolContent`](crate::tool::ToolContent)); a tool's progress and logs
//!   ([`Reporter`](crate::tool::Reporter)) sent to the client as they happen.
//! - [`McpClient`] connects to an MCP server (a child process, or streamable
//!   HTTP) and hands its tools to an [`Agent`](crate::Agent) as a
//!   [`ToolSet`](crate::tool::ToolSet): schemas lowered for the model like a
//!   Rust type's, arguments validated before they are sent, structured results
//!   checked against the server's `outputSchema`, every failure a tool error
//!   the model can act on.
//!
//! ```no_run
//! use typecall::mcp::{McpClient, McpServer};
//! use typecall::tool::Toolbox;
//! use typecall::tool;
//!
//! /// The square root of a number, rounded to 2 decimals.
//! #[tool(read_only, idempotent)]
//! fn square_root(number: f64) -> f64 {
//!     (number.sqrt() * 100.0).round() / 100.0
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Serve it on stdin/stdout, until the client hangs up:
//! McpServer::new(Toolbox::new().with(SquareRoot)?).serve_stdio().await?;
//!
//! // Or use the tools of another server in an agent:
//! let client = McpClient::spawn(tokio::process::Command::new("my-mcp-server")).await?;
//! let tools = client.tools().await?;
//! let model = typecall::provider::Cerebras::from_env()?.model("gpt-oss-120b");
//! let agent = typecall::Agent::new(model).tools(tools);
//! # let _ = agent; Ok(()) }
//! ```

mod asking;
mod catalog;
mod client;
mod error;
mod http;
mod message_check;
pub mod oauth;
mod server;
mod stdio;

pub use asking::{CallingClient, Elicited};
pub use catalog::{Prompt, PromptMessage, PromptRole, Resource, ResourceRequest, ResourceTemplate};
pub use client::{
    ElicitationHandler, ElicitationRequest, MCP_PROTOCOL_VERSIONS, McpClient, McpHttpClientOptions,
    McpTools, RefusedTool,
};
pub use error::McpError;
pub use http::{HttpOptions, HttpServer};
pub use oauth::{AuthorizationError, IdentityAssertion, McpOAuth, UserAgent};
pub use server::{McpServer, ResourceNotifier};

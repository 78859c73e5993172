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
mod live;
mod message_check;
pub mod oauth;
mod server;
mod sessions;
mod stdio;

pub use asking::{CallingClient, Elicited};
pub(crate) use catalog::generated;
pub use catalog::{Prompt, PromptMessage, PromptRole, Resource, ResourceRequest, ResourceTemplate};

/// Turns a function into a prompt an [`McpServer`] serves.
///
/// The doc comment is the prompt's description, the parameters its
/// arguments (`///` comments on them their descriptions; an `Option` is not
/// required; a value that is not a string is read from the string the client
/// sends, `"3"` for a number). It returns the messages: a
/// `Vec<PromptMessage>`, one [`PromptMessage`], or a `Result` of either whose
/// error is `Display` (the client gets it as an error). Sync or async. A unit
/// struct named after the function in CamelCase is the prompt
/// (`impl Into<Prompt>`).
///
/// Options: `name = "…"`, `title = "…"`, `description = "…"`,
/// `type_name = "…"`.
///
/// ```
/// use typecall::mcp::{McpServer, PromptMessage, prompt};
/// use typecall::tool::Toolbox;
///
/// /// Review a piece of code.
/// #[prompt(title = "Code review")]
/// fn review(
///     /// The code.
///     code: String,
///     /// What to look at most.
///     focus: Option<String>,
/// ) -> PromptMessage {
///     let focus = focus.unwrap_or_else(|| "correctness".into());
///     PromptMessage::user_text(format!("Review for {focus}:\n{code}"))
/// }
///
/// let server = McpServer::new(Toolbox::new()).prompt(Review);
/// # let _ = server;
/// ```
#[doc(inline)]
pub use typecall_macros::prompt;

pub use client::{
    ElicitationHandler, ElicitationRequest, MCP_PROTOCOL_VERSIONS, McpClient, McpHttpClientOptions,
    McpTools, RefusedTool,
};
pub use error::McpError;
pub use http::{HttpOptions, HttpServer};
pub use live::McpCatalog;
pub use oauth::{AuthorizationError, IdentityAssertion, McpOAuth, UserAgent};
pub use server::McpServer;
pub use sessions::ResourceNotifier;
/// Turns a function into a resource an [`McpServer`] serves.
///
/// `uri = "…"` is required. Without `{name}` variables in it, the function
/// takes no parameters and the unit struct it makes (the function's name in
/// CamelCase) is a [`Resource`] (`McpServer::resource`); with them, each
/// parameter takes the variable of its name (parsed with `FromStr`) and the
/// struct is a [`ResourceTemplate`] (`McpServer::resource_template`). It
/// returns text (`String`, `&str`), bytes (`Vec<u8>`),
/// [`ResourceContents`](crate::tool::ResourceContents), or a `Result` of one
/// whose error is `Display`. Sync or async. The doc comment is the
/// description.
///
/// Options: `uri = "…"`, `mime_type = "…"` (default `text/plain`),
/// `name = "…"`, `title = "…"`, `description = "…"`, `type_name = "…"`.
///
/// ```
/// use typecall::mcp::{McpServer, resource};
/// use typecall::tool::Toolbox;
///
/// /// The project's README.
/// #[resource(uri = "docs://readme", mime_type = "text/markdown")]
/// fn readme() -> &'static str {
///     "# Hello"
/// }
///
/// /// A note, by number.
/// #[resource(uri = "notes://{id}")]
/// async fn note(id: u32) -> Result<String, String> {
///     if id == 1 { Ok("Buy milk".into()) } else { Err(format!("no note {id}")) }
/// }
///
/// let server = McpServer::new(Toolbox::new())
///     .resource(Readme)
///     .resource_template(Note);
/// # let _ = server;
/// ```
#[doc(inline)]
pub use typecall_macros::resource;

//! What can go wrong setting up an MCP connection or server.

/// An MCP connection or server could not be set up, or broke. (A failed tool
/// call is a [`ToolError`](crate::tool::ToolError) instead, fed back to the
/// model.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The server process could not be started, or an address not bound.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The peer did not complete the MCP handshake.
    #[error("the MCP handshake with {peer} failed: {message}")]
    Handshake {
        /// The server command or URL.
        peer: String,
        /// rmcp's account of it.
        message: String,
    },
    /// A request failed at the protocol level (a dead server, a JSON-RPC error).
    #[error("MCP request `{request}` failed: {message}")]
    Request {
        /// The request.
        request: String,
        /// Why.
        message: String,
    },
    /// Authorizing with the server (OAuth) failed.
    #[error("authorizing with {peer} failed: {source}")]
    Authorization {
        /// The server URL.
        peer: String,
        /// Which step failed, and why.
        #[source]
        source: super::AuthorizationError,
    },
    /// A setting is not usable (an address, a URL, a header value).
    #[error("invalid MCP setting: {0}")]
    Setting(String),
}

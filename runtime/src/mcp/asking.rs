//! A tool served over MCP asking the client back: for input from its user
//! (elicitation) or for a completion from its model (sampling).

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::service::Peer;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::McpError;

tokio::task_local! {
    static CALLING: CallingClient;
}

/// The MCP client whose call is running on this task, to ask things of:
/// [`elicit`](Self::elicit) input from its user, [`sample`](Self::sample) its
/// model. Only a tool served by [`McpServer`](super::McpServer) has one;
/// every question has a deadline.
///
/// ```no_run
/// use std::time::Duration;
/// use typecall::mcp::{CallingClient, Elicited};
///
/// /// Who to greet.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Name {
///     /// Your name.
///     name: String,
/// }
///
/// /// Greets the user, asking their name.
/// #[typecall::tool]
/// async fn greet() -> Result<String, String> {
///     let client = CallingClient::current().ok_or("not called over MCP")?;
///     match client.elicit::<Name>("What is your name?", Duration::from_secs(300)).await {
///         Ok(Elicited::Accepted(n)) => Ok(format!("Hello, {}!", n.name)),
///         Ok(_) => Ok("Hello, stranger!".to_owned()),
///         Err(e) => Err(e.to_string()),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct CallingClient {
    peer: Peer<RoleServer>,
    /// Ends the HTTP response stream this call answers on (none over stdio).
    stream: Option<super::http::StreamCut>,
}

impl std::fmt::Debug for CallingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallingClient").finish_non_exhaustive()
    }
}

/// What the user did with an elicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicited<T> {
    /// They answered: the answer.
    Accepted(T),
    /// They said no.
    Declined,
    /// They dismissed it.
    Cancelled,
}

impl CallingClient {
    /// The client of the MCP tool call running on this task; `None`
    /// outside one (in an agent run, in a `blocking` tool's thread).
    pub fn current() -> Option<Self> {
        CALLING.try_with(Clone::clone).ok()
    }

    /// Runs `call` with `peer` as the [`current`](Self::current) client;
    /// `stream` ends the HTTP response stream the call answers on.
    pub(super) async fn scope<F: std::future::Future>(
        peer: Peer<RoleServer>,
        stream: Option<super::http::StreamCut>,
        call: F,
    ) -> F::Output {
        CALLING.scope(Self { peer, stream }, call).await
    }

    /// Ends the HTTP response stream this call answers on, keeping the call
    /// running, and waits up to `limit` for the client to reconnect (`GET`
    /// with `Last-Event-ID`, after the `retry` the stream announced, 3 s):
    /// the rest of the call, its result included, then goes on the resumed
    /// stream (SEP-1699). For long calls behind proxies that cut long-lived
    /// connections. Whether the client came back in time; `false` at once
    /// over stdio (there is no such stream).
    pub async fn close_stream(&self, limit: Duration) -> bool {
        match &self.stream {
            Some(stream) => stream.cut_and_wait(limit).await,
            None => false,
        }
    }

    /// Asks the client's user for a `T`, showing `message` and a form made
    /// from `T`'s JSON Schema (MCP forms are flat: strings, numbers,
    /// booleans, enums).
    ///
    /// # Errors
    /// [`McpError::Request`] when the client cannot elicit, refuses the
    /// request, gives no answer by `deadline`, or answers with something that
    /// is not a `T`.
    pub async fn elicit<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        message: &str,
        deadline: Duration,
    ) -> Result<Elicited<T>, McpError> {
        let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
        if let Some(o) = schema.as_object_mut() {
            // Keywords a flat MCP form does not take.
            o.remove("$schema");
            o.remove("title");
        }
        match self.elicit_schema(message, schema, deadline).await? {
            Elicited::Accepted(value) => serde_json::from_value(value)
                .map(Elicited::Accepted)
                .map_err(|e| {
                    failed(
                        "elicitation/create",
                        format!("the answer is not the form's type: {e}"),
                    )
                }),
            Elicited::Declined => Ok(Elicited::Declined),
            Elicited::Cancelled => Ok(Elicited::Cancelled),
        }
    }

    /// [`elicit`](Self::elicit) with the form's JSON Schema given as it is
    /// (defaults, titled enums, multi-select arrays).
    ///
    /// # Errors
    /// As [`elicit`](Self::elicit); also when `schema` is not one MCP takes.
    pub async fn elicit_schema(
        &self,
        message: &str,
        schema: Value,
        deadline: Duration,
    ) -> Result<Elicited<Value>, McpError> {
        const REQUEST: &str = "elicitation/create";
        let params: rmcp::model::ElicitRequestParams = serde_json::from_value(json!({
            "mode": "form",
            "message": message,
            "requestedSchema": schema,
        }))
        .map_err(|e| {
            failed(
                REQUEST,
                format!("the form's schema is not one MCP takes: {e}"),
            )
        })?;
        let answer = tokio::time::timeout(deadline, self.peer.create_elicitation(params))
            .await
            .map_err(|_| failed(REQUEST, format!("no answer within {deadline:?}")))?
            .map_err(|e| failed(REQUEST, e.to_string()))?;
        Ok(match answer.action {
            rmcp::model::ElicitationAction::Accept => {
                Elicited::Accepted(answer.content.unwrap_or_else(|| json!({})))
            }
            rmcp::model::ElicitationAction::Decline => Elicited::Declined,
            // Cancel, and any action a later revision adds: not an answer.
            _ => Elicited::Cancelled,
        })
    }

    // Sampling is in every revision up to 2025-11-25, the one clients
    // negotiate through `initialize`; rmcp marks it deprecated for the
    // revision after it (SEP-2577).
    #[allow(deprecated)]
    /// Asks the client's model to answer `prompt` in at most `max_tokens`
    /// tokens; returns its text.
    ///
    /// # Errors
    /// [`McpError::Request`] when the client cannot sample, refuses, gives
    /// no answer by `deadline`, or answers with no text.
    pub async fn sample(
        &self,
        prompt: &str,
        max_tokens: u32,
        deadline: Duration,
    ) -> Result<String, McpError> {
        const REQUEST: &str = "sampling/createMessage";
        let params: rmcp::model::CreateMessageRequestParams = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
            "maxTokens": max_tokens,
        }))
        .map_err(|e| failed(REQUEST, e.to_string()))?;
        let answer = tokio::time::timeout(deadline, self.peer.create_message(params))
            .await
            .map_err(|_| failed(REQUEST, format!("no answer within {deadline:?}")))?
            .map_err(|e| failed(REQUEST, e.to_string()))?;
        let message = serde_json::to_value(&answer.message).unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        let text_of = |c: &Value| c.get("text").and_then(Value::as_str).map(str::to_owned);
        let text = match content {
            Value::Array(blocks) => {
                let texts: Vec<String> = blocks.iter().filter_map(text_of).collect();
                (!texts.is_empty()).then(|| texts.join("\n"))
            }
            one => text_of(one),
        };
        text.ok_or_else(|| {
            failed(
                REQUEST,
                "the client's model answered with no text".to_owned(),
            )
        })
    }
}

fn failed(request: &str, message: String) -> McpError {
    McpError::Request {
        request: request.to_owned(),
        message,
    }
}

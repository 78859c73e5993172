//! One error type for the crate. Each variant says what went wrong and carries
//! what a caller needs to act on it.

use std::time::Duration;

use crate::chat::{ConversationError, RateLimits};
use crate::record::{Attempt, Run};
use crate::schema::{DecodeError, SchemaError, ValidationErrors};

/// What a provider said about an error (its JSON body), when it said anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status (or the `status_code` of an error inside a stream).
    pub status: u16,
    /// The provider's message.
    pub message: String,
    /// The provider's error `type`.
    pub kind: Option<String>,
    /// The provider's error `code` (`wrong_api_key`, `model_not_found`, …).
    pub code: Option<String>,
    /// The request parameter at fault.
    pub param: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(param) = &self.param {
            write!(f, " (param `{param}`)")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in typecall.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A type could not be given a schema in the dialect asked for.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A value did not match its schema.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A value could not be decoded into its Rust type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The conversation is malformed; found before sending.
    #[error("invalid conversation: {0}")]
    Conversation(#[from] ConversationError),
    /// The request asks for something the model does not support; found before
    /// sending.
    #[error("model `{model}` does not support {feature}: {hint}")]
    Unsupported {
        /// The model.
        model: String,
        /// What it does not support.
        feature: String,
        /// What to do instead.
        hint: String,
    },
    /// Configuration is missing or wrong (no API key, a bad base URL, …).
    #[error("configuration: {0}")]
    Config(String),
    /// The API key was refused (401), or the account may not use this (403).
    #[error("authentication failed ({0}); check the API key")]
    Auth(ApiError),
    /// The model does not exist or this key may not use it (404).
    #[error("model `{model}` not found ({error}); list the available models with `GET /v1/models`")]
    ModelNotFound {
        /// The model asked for.
        model: String,
        /// What the provider said.
        error: ApiError,
    },
    /// The provider refused the request (400, 422, …): its message says why.
    #[error("the provider refused the request: {0}")]
    BadRequest(ApiError),
    /// Too many requests or tokens (429), after the retries.
    #[error("rate limited ({error}){}", retry_after.map(|d| format!("; retry in {:.1}s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// What the provider said.
        error: ApiError,
        /// How long the provider asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The limits it reported.
        rate_limits: RateLimits,
    },
    /// The provider failed (5xx), after the retries.
    #[error("the provider failed: {0}")]
    Server(ApiError),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server gave up waiting for the request (HTTP 408).
    #[error("the server timed out waiting for the request ({0}); send it again")]
    RequestTimeout(ApiError),
    /// A server sent more than a limit allows (a body, an event, tool calls);
    /// reading stopped there. The limits are the provider's
    /// [`Limits`](crate::provider::Limits).
    #[error(
        "{what} exceeds the limit of {limit} (`Limits::{setting}`); if that is expected, \
         raise it with `.limits(Limits::default().{setting}(…))` on the provider"
    )]
    LimitExceeded {
        /// What was too large.
        what: String,
        /// The limit.
        limit: u64,
        /// The [`Limits`](crate::provider::Limits) field that sets it.
        setting: &'static str,
    },
    /// The connection failed or broke (also mid-stream).
    #[error("connection: {0}")]
    Connection(String),
    /// The provider would not answer this prompt (Gemini's safety filters):
    /// `reason` is its code (`SAFETY`, `BLOCKLIST`, `PROHIBITED_CONTENT`, …).
    #[error(
        "the provider blocked the prompt ({reason}){}; rephrase it, or adjust the \
         provider's safety settings",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Blocked {
        /// The provider's reason code.
        reason: String,
        /// Its explanation, if it gave one.
        message: Option<String>,
    },
    /// No answer of the model could be decoded into the requested type, after
    /// every repair. Every attempt is here, raw answers included.
    #[error("no answer decoded into `{type_name}` after {} attempt(s); last: {}", attempts.len(), attempts.last().and_then(|a| a.error.clone()).unwrap_or_default())]
    Extraction {
        /// The requested type.
        type_name: String,
        /// Every attempt, in order.
        attempts: Vec<Attempt>,
    },
    /// An agent run stopped without an answer; the run so far is kept. Why it
    /// stopped is the [`source`](std::error::Error::source) (and a model error
    /// is that one's source), so error reporters show the whole chain;
    /// [`Error::is_retryable`] and [`Error::provider_error`] look through it.
    #[error("the agent stopped: {stop}")]
    Agent {
        /// Why it stopped.
        #[source]
        stop: AgentStop,
        /// Everything that happened until then.
        run: Box<Run>,
    },
    /// An answer could not be understood.
    #[error("could not decode the provider's answer ({what}); received: {excerpt}")]
    Protocol {
        /// What was being decoded.
        what: String,
        /// The start of what was received.
        excerpt: String,
    },
}

impl Error {
    /// The provider's error this error is or wraps: for an agent that stopped
    /// because its model failed, that failure; otherwise `self`.
    pub fn provider_error(&self) -> &Error {
        let mut e = self;
        // Each step goes one wrapping deeper; wrappings are finite.
        while let Error::Agent {
            stop: AgentStop::Model(inner),
            ..
        } = e
        {
            e = inner;
        }
        e
    }

    /// What the provider said, when it answered with an error (through an
    /// agent's stop too).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self.provider_error() {
            Error::Auth(a)
            | Error::BadRequest(a)
            | Error::Server(a)
            | Error::RequestTimeout(a)
            | Error::RateLimited { error: a, .. }
            | Error::ModelNotFound { error: a, .. } => Some(a),
            _ => None,
        }
    }

    /// How long the provider asked to wait before trying again, if it said
    /// (through an agent's stop too).
    pub fn retry_after(&self) -> Option<Duration> {
        match self.provider_error() {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether asking again later may succeed (rate limits, server errors,
    /// timeouts, broken connections), looking through an agent's stop to the
    /// model error that caused it.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.provider_error(),
            Error::RateLimited { .. }
                | Error::Server(_)
                | Error::Timeout(_)
                | Error::RequestTimeout(_)
                | Error::Connection(_)
        )
    }
}

/// Why a run stopped without an answer. [`Error::Agent`] carries it with the
/// [`Run`] so far.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentStop {
    /// `max_turns` requests were made.
    #[error("no final answer within {0} turns")]
    MaxTurns(u32),
    /// The token budget is spent.
    #[error("the token budget is spent ({used} of {budget} tokens)")]
    TokenBudget {
        /// Tokens used.
        used: u64,
        /// The budget.
        budget: u64,
    },
    /// The deadline passed.
    #[error("the deadline of {0:?} passed")]
    Deadline(Duration),
    /// A tool kept failing the same way.
    #[error("`{tool}` failed the same way {times} times ({error}); the model is looping")]
    ToolLoop {
        /// The tool.
        tool: String,
        /// The repeated error.
        error: String,
        /// How often.
        times: u32,
    },
    /// The same successful call was made again and again.
    #[error(
        "`{tool}` was called with the same arguments {times} times ({arguments}); the model is looping (raise `max_repeated_calls` if that is meant)"
    )]
    RepeatedCall {
        /// The tool.
        tool: String,
        /// The arguments, as JSON.
        arguments: String,
        /// How often.
        times: u32,
    },
    /// A tool call was required (`tool_choice` `Required` or one tool) and the
    /// model answered without one.
    #[error(
        "a tool call was required and the model answered without one (try `ToolMode::Constrained`, which can hold a model to calling)"
    )]
    NoToolCall,
    /// The model (or its provider) failed. The provider's error is the
    /// [`source`](std::error::Error::source).
    #[error("the model failed: {0}")]
    Model(#[source] Box<Error>),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The first `max` characters of `text`, for error messages.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

//! One error type for the crate, one pointer wide: [`Error::kind`] says what
//! went wrong, its accessors carry what a caller needs to act on it, and the
//! error underneath is its [`source`](std::error::Error::source).

use std::fmt;
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
        // A code that only repeats the status (llama.cpp's `"code": 400`) says
        // nothing more.
        if let Some(code) = self
            .code
            .as_ref()
            .filter(|c| **c != self.status.to_string())
        {
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

/// A boxed error kept as an [`Error`]'s source.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in typecall: one pointer wide.
///
/// [`Error::kind`] says what happened; the predicates ([`is_retryable`],
/// [`is_timeout`]) and accessors ([`status`], [`api_error`], [`run`],
/// [`attempts`], …) give what a caller acts on; the underlying error (an HTTP
/// client's, an I/O error, a validation error, why an agent stopped) is the
/// [`source`](std::error::Error::source), so error reporters show the chain.
///
/// [`is_retryable`]: Error::is_retryable
/// [`is_timeout`]: Error::is_timeout
/// [`status`]: Error::status
/// [`api_error`]: Error::api_error
/// [`run`]: Error::run
/// [`attempts`]: Error::attempts
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    detail: Detail,
    source: Option<BoxError>,
}

/// What went wrong, as [`Error::kind`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A type could not be given a schema in the dialect asked for.
    Schema,
    /// A value did not match its schema.
    Validation,
    /// A value could not be decoded into its Rust type.
    Decode,
    /// The conversation is malformed; found before sending.
    Conversation,
    /// The request asks for something the model does not support; found
    /// before sending ([`Error::model`], [`Error::unsupported_feature`]).
    Unsupported,
    /// Configuration is missing or wrong (no API key, a bad base URL, …).
    Config,
    /// The API key was refused (401), or the account may not use this (403;
    /// 402: it has no credit left).
    Auth,
    /// The model does not exist or this key may not use it (404).
    ModelNotFound,
    /// The provider refused the request (400, 422, …): its message says why.
    BadRequest,
    /// Too many requests or tokens (429), after the retries
    /// ([`Error::retry_after`], [`Error::rate_limits`]).
    RateLimited,
    /// The provider failed (5xx), after the retries.
    Server,
    /// No answer in time: typecall's own timeout or deadline
    /// ([`Error::timeout`] says which), the HTTP client's, or the server's
    /// HTTP 408.
    Timeout,
    /// A server sent more than a limit allows (a body, an event, tool calls);
    /// reading stopped there ([`Error::limit_setting`]).
    LimitExceeded,
    /// The connection failed or broke (also mid-stream).
    Connection,
    /// The provider would not answer this prompt (Gemini's safety filters,
    /// [`Error::blocked_reason`]).
    Blocked,
    /// No answer of the model could be decoded into the requested type,
    /// after every repair ([`Error::attempts`]).
    Extraction,
    /// An agent run stopped without an answer ([`Error::agent_stop`],
    /// [`Error::run`]).
    Agent,
    /// An answer could not be understood.
    Protocol,
}

/// What each kind of error carries. The whole is boxed in [`Error`], so one
/// large variant (an agent's run) costs the others nothing on the stack.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Detail {
    Schema(SchemaError),
    Validation(ValidationErrors),
    Decode(DecodeError),
    Conversation(ConversationError),
    Unsupported {
        model: String,
        feature: String,
        hint: String,
    },
    Config(String),
    Auth(ApiError),
    ModelNotFound {
        model: String,
        error: ApiError,
    },
    BadRequest(ApiError),
    RateLimited {
        error: ApiError,
        retry_after: Option<Duration>,
        rate_limits: RateLimits,
    },
    Server(ApiError),
    /// typecall's own timeout or deadline that passed.
    Timeout(Duration),
    /// The HTTP client's timeout (its error is the source).
    ClientTimeout(String),
    /// The server's HTTP 408.
    RequestTimeout(ApiError),
    LimitExceeded {
        what: String,
        limit: u64,
        setting: &'static str,
    },
    Connection(String),
    Blocked {
        reason: String,
        message: Option<String>,
    },
    Extraction {
        type_name: String,
        attempts: Vec<Attempt>,
    },
    Agent {
        stop: AgentStop,
        run: Run,
    },
    Protocol {
        what: String,
        excerpt: String,
    },
}

impl Error {
    fn new(detail: Detail) -> Self {
        Self {
            inner: Box::new(Inner {
                detail,
                source: None,
            }),
        }
    }

    /// This error with `source` as its cause (an HTTP client's error, an I/O
    /// error, …), for [`std::error::Error::source`].
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Configuration is missing or wrong: `message` says what and how to fix
    /// it.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Detail::Config(message.into()))
    }

    /// The connection failed or broke: `message` says how.
    pub fn connection(message: impl Into<String>) -> Self {
        Self::new(Detail::Connection(message.into()))
    }

    /// An answer could not be understood: `what` was being decoded, `received`
    /// is (the start of) what came.
    pub fn protocol(what: impl Into<String>, received: &str) -> Self {
        Self::new(Detail::Protocol {
            what: what.into(),
            excerpt: excerpt(received, 200),
        })
    }

    /// No answer within `after` (a timeout or deadline).
    pub fn timeout(after: Duration) -> Self {
        Self::new(Detail::Timeout(after))
    }

    /// `model` does not support `feature`; `hint` says what to do instead.
    pub fn unsupported(
        model: impl Into<String>,
        feature: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Detail::Unsupported {
            model: model.into(),
            feature: feature.into(),
            hint: hint.into(),
        })
    }

    /// A provider's error answer: typed by its HTTP `status` (401/403, and
    /// 402 for an account without credit, [`ErrorKind::Auth`], 408 [`ErrorKind::Timeout`], 429
    /// [`ErrorKind::RateLimited`], 5xx [`ErrorKind::Server`], other 4xx
    /// [`ErrorKind::BadRequest`]).
    pub fn from_api(error: ApiError) -> Self {
        Self::new(match error.status {
            401..=403 => Detail::Auth(error),
            408 => Detail::RequestTimeout(error),
            429 => Detail::RateLimited {
                error,
                retry_after: None,
                rate_limits: RateLimits::default(),
            },
            s if s >= 500 => Detail::Server(error),
            _ => Detail::BadRequest(error),
        })
    }

    pub(crate) fn model_not_found(model: impl Into<String>, error: ApiError) -> Self {
        Self::new(Detail::ModelNotFound {
            model: model.into(),
            error,
        })
    }

    pub(crate) fn rate_limited(
        error: ApiError,
        retry_after: Option<Duration>,
        rate_limits: RateLimits,
    ) -> Self {
        Self::new(Detail::RateLimited {
            error,
            retry_after,
            rate_limits,
        })
    }

    pub(crate) fn client_timeout(message: String) -> Self {
        Self::new(Detail::ClientTimeout(message))
    }

    pub(crate) fn limit_exceeded(
        what: impl Into<String>,
        limit: u64,
        setting: &'static str,
    ) -> Self {
        Self::new(Detail::LimitExceeded {
            what: what.into(),
            limit,
            setting,
        })
    }

    pub(crate) fn blocked(reason: String, message: Option<String>) -> Self {
        Self::new(Detail::Blocked { reason, message })
    }

    pub(crate) fn extraction(type_name: impl Into<String>, attempts: Vec<Attempt>) -> Self {
        Self::new(Detail::Extraction {
            type_name: type_name.into(),
            attempts,
        })
    }

    pub(crate) fn agent(stop: AgentStop, run: Run) -> Self {
        Self::new(Detail::Agent { stop, run })
    }

    /// The provider's answer said the API key was refused: as an
    /// authentication error, whatever status it came with.
    pub(crate) fn into_auth(self) -> Self {
        let Inner { detail, source } = *self.inner;
        let detail = match detail {
            Detail::BadRequest(api) | Detail::Auth(api) => Detail::Auth(api),
            other => other,
        };
        Self {
            inner: Box::new(Inner { detail, source }),
        }
    }

    /// The provider's answer refused the request, not the key (a 403 that
    /// names a feature): as a bad request, whatever status it came with.
    pub(crate) fn into_bad_request(self) -> Self {
        let Inner { detail, source } = *self.inner;
        let detail = match detail {
            Detail::Auth(api) => Detail::BadRequest(api),
            other => other,
        };
        Self {
            inner: Box::new(Inner { detail, source }),
        }
    }

    /// This provider error as "model not found" for `model`, keeping what
    /// the provider said (and the source).
    pub(crate) fn into_model_not_found(self, model: &str) -> Self {
        let Inner { detail, source } = *self.inner;
        let detail = match detail {
            Detail::BadRequest(error) | Detail::ModelNotFound { error, .. } => {
                Detail::ModelNotFound {
                    model: model.to_owned(),
                    error,
                }
            }
            other => other,
        };
        Self {
            inner: Box::new(Inner { detail, source }),
        }
    }

    /// What happened.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.detail {
            Detail::Schema(_) => ErrorKind::Schema,
            Detail::Validation(_) => ErrorKind::Validation,
            Detail::Decode(_) => ErrorKind::Decode,
            Detail::Conversation(_) => ErrorKind::Conversation,
            Detail::Unsupported { .. } => ErrorKind::Unsupported,
            Detail::Config(_) => ErrorKind::Config,
            Detail::Auth(_) => ErrorKind::Auth,
            Detail::ModelNotFound { .. } => ErrorKind::ModelNotFound,
            Detail::BadRequest(_) => ErrorKind::BadRequest,
            Detail::RateLimited { .. } => ErrorKind::RateLimited,
            Detail::Server(_) => ErrorKind::Server,
            Detail::Timeout(_) | Detail::ClientTimeout(_) | Detail::RequestTimeout(_) => {
                ErrorKind::Timeout
            }
            Detail::LimitExceeded { .. } => ErrorKind::LimitExceeded,
            Detail::Connection(_) => ErrorKind::Connection,
            Detail::Blocked { .. } => ErrorKind::Blocked,
            Detail::Extraction { .. } => ErrorKind::Extraction,
            Detail::Agent { .. } => ErrorKind::Agent,
            Detail::Protocol { .. } => ErrorKind::Protocol,
        }
    }

    /// The provider's error this error is or wraps: for an agent that stopped
    /// because its model failed, that failure; otherwise `self`.
    pub fn provider_error(&self) -> &Error {
        let mut e = self;
        // Each step goes one wrapping deeper; wrappings are finite.
        while let Detail::Agent {
            stop: AgentStop::Model(inner),
            ..
        } = &e.inner.detail
        {
            e = inner;
        }
        e
    }

    /// What the provider said, when it answered with an error (through an
    /// agent's stop too).
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.provider_error().inner.detail {
            Detail::Auth(a)
            | Detail::BadRequest(a)
            | Detail::Server(a)
            | Detail::RequestTimeout(a)
            | Detail::RateLimited { error: a, .. }
            | Detail::ModelNotFound { error: a, .. } => Some(a),
            _ => None,
        }
    }

    /// The HTTP status of the provider's error answer (through an agent's
    /// stop too).
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|a| a.status)
    }

    /// How long the provider asked to wait before trying again, if it said
    /// (through an agent's stop too).
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.provider_error().inner.detail {
            Detail::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The rate limits a 429 answer reported (through an agent's stop too).
    pub fn rate_limits(&self) -> Option<&RateLimits> {
        match &self.provider_error().inner.detail {
            Detail::RateLimited { rate_limits, .. } => Some(rate_limits),
            _ => None,
        }
    }

    /// Whether asking again later may succeed (rate limits, server errors,
    /// timeouts, broken connections), looking through an agent's stop to the
    /// model error that caused it.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.provider_error().kind(),
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Timeout | ErrorKind::Connection
        )
    }

    /// Whether no answer came in time, whoever's clock ran out (through an
    /// agent's stop too). One kind, [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.provider_error().kind() == ErrorKind::Timeout
    }

    /// typecall's own timeout or deadline that passed (a provider's
    /// `timeout`, a stream's deadline or silence), when that is what ended it.
    pub fn timeout_after(&self) -> Option<Duration> {
        match &self.provider_error().inner.detail {
            Detail::Timeout(d) => Some(*d),
            _ => None,
        }
    }

    /// The model named by an unsupported request or a missing model.
    pub fn model(&self) -> Option<&str> {
        match &self.provider_error().inner.detail {
            Detail::Unsupported { model, .. } | Detail::ModelNotFound { model, .. } => Some(model),
            _ => None,
        }
    }

    /// What an unsupported request asked for (`"image input"`, `"logprobs"`).
    pub fn unsupported_feature(&self) -> Option<&str> {
        match &self.provider_error().inner.detail {
            Detail::Unsupported { feature, .. } => Some(feature),
            _ => None,
        }
    }

    /// The [`Limits`](crate::provider::Limits) setting a server went past
    /// (`"max_body_bytes"`, …), and its value.
    pub fn limit_setting(&self) -> Option<(&'static str, u64)> {
        match &self.provider_error().inner.detail {
            Detail::LimitExceeded { setting, limit, .. } => Some((setting, *limit)),
            _ => None,
        }
    }

    /// Why the provider blocked the prompt (`SAFETY`, `BLOCKLIST`, …) and its
    /// explanation, if it gave one.
    pub fn blocked_reason(&self) -> Option<(&str, Option<&str>)> {
        match &self.provider_error().inner.detail {
            Detail::Blocked { reason, message } => Some((reason, message.as_deref())),
            _ => None,
        }
    }

    /// Why an agent run stopped without an answer.
    pub fn agent_stop(&self) -> Option<&AgentStop> {
        match &self.inner.detail {
            Detail::Agent { stop, .. } => Some(stop),
            _ => None,
        }
    }

    /// The run so far of an agent that stopped without an answer.
    pub fn run(&self) -> Option<&Run> {
        match &self.inner.detail {
            Detail::Agent { run, .. } => Some(run),
            _ => None,
        }
    }

    /// Why an agent stopped and its run so far, taken out of the error; any
    /// other error back as it was.
    ///
    /// # Errors
    /// `self` when it is not an [`ErrorKind::Agent`] error.
    pub fn into_run(self) -> std::result::Result<(AgentStop, Run), Error> {
        let Inner { detail, source } = *self.inner;
        match detail {
            Detail::Agent { stop, run } => Ok((stop, run)),
            detail => Err(Self {
                inner: Box::new(Inner { detail, source }),
            }),
        }
    }

    /// Every attempt of an extraction that decoded no answer, raw answers
    /// included; empty for other errors.
    pub fn attempts(&self) -> &[Attempt] {
        match &self.inner.detail {
            Detail::Extraction { attempts, .. } => attempts,
            _ => &[],
        }
    }

    /// A connection error (or the HTTP client's timeout) whose message starts
    /// with `context`; other errors as they are.
    pub(crate) fn in_context(mut self, context: &str) -> Self {
        if let Detail::Connection(m) | Detail::ClientTimeout(m) = &mut self.inner.detail {
            *m = format!("{context}: {m}");
        }
        self
    }

    /// What a configuration error says, without the "configuration:" prefix.
    pub(crate) fn config_message(&self) -> Option<&str> {
        match &self.inner.detail {
            Detail::Config(m) => Some(m),
            _ => None,
        }
    }

    /// The validation errors of a value that did not match its schema.
    pub fn validation_errors(&self) -> Option<&ValidationErrors> {
        match &self.inner.detail {
            Detail::Validation(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind())
            .field("detail", &self.inner.detail);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.detail {
            Detail::Schema(e) => write!(f, "{e}"),
            Detail::Validation(e) => write!(f, "{e}"),
            Detail::Decode(e) => write!(f, "{e}"),
            Detail::Conversation(e) => write!(f, "invalid conversation: {e}"),
            Detail::Unsupported {
                model,
                feature,
                hint,
            } => write!(f, "model `{model}` does not support {feature}: {hint}"),
            Detail::Config(m) => write!(f, "configuration: {m}"),
            Detail::Auth(a) => write!(f, "authentication failed ({a}); check the API key"),
            Detail::ModelNotFound { model, error } => write!(
                f,
                "model `{model}` not found ({error}); list the available models with `GET /v1/models`"
            ),
            Detail::BadRequest(a) => write!(f, "the provider refused the request: {a}"),
            Detail::RateLimited {
                error, retry_after, ..
            } => {
                write!(f, "rate limited ({error})")?;
                if let Some(d) = retry_after {
                    write!(f, "; retry in {:.1}s", d.as_secs_f64())?;
                }
                Ok(())
            }
            Detail::Server(a) => write!(f, "the provider failed: {a}"),
            Detail::Timeout(d) => write!(f, "no answer within {d:?}"),
            Detail::ClientTimeout(m) => write!(f, "no answer in time: {m}"),
            Detail::RequestTimeout(a) => write!(
                f,
                "the server timed out waiting for the request ({a}); send it again"
            ),
            Detail::LimitExceeded {
                what,
                limit,
                setting,
            } => write!(
                f,
                "{what} exceeds the limit of {limit} (`Limits::{setting}`); if that is expected, \
                 raise it with `.limits(Limits::default().{setting}(…))` on the provider"
            ),
            Detail::Connection(m) => write!(f, "connection: {m}"),
            Detail::Blocked { reason, message } => {
                write!(f, "the provider blocked the prompt ({reason})")?;
                if let Some(m) = message {
                    write!(f, ": {m}")?;
                }
                write!(f, "; rephrase it, or adjust the provider's safety settings")
            }
            Detail::Extraction {
                type_name,
                attempts,
            } => write!(
                f,
                "no answer decoded into `{type_name}` after {} attempt(s); last: {}",
                attempts.len(),
                attempts
                    .last()
                    .and_then(|a| a.error.as_deref())
                    .unwrap_or_default()
            ),
            Detail::Agent { stop, .. } => write!(f, "the agent stopped: {stop}"),
            Detail::Protocol { what, excerpt } => write!(
                f,
                "could not decode the provider's answer ({what}); received: {excerpt}"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if let Some(s) = &self.inner.source {
            return Some(&**s);
        }
        match &self.inner.detail {
            Detail::Schema(e) => e.source(),
            Detail::Validation(e) => e.source(),
            Detail::Decode(e) => e.source(),
            Detail::Conversation(e) => Some(e),
            Detail::Agent { stop, .. } => Some(stop),
            _ => None,
        }
    }
}

impl From<SchemaError> for Error {
    fn from(e: SchemaError) -> Self {
        Self::new(Detail::Schema(e))
    }
}

impl From<ValidationErrors> for Error {
    fn from(e: ValidationErrors) -> Self {
        Self::new(Detail::Validation(e))
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::new(Detail::Decode(e))
    }
}

impl From<ConversationError> for Error {
    fn from(e: ConversationError) -> Self {
        Self::new(Detail::Conversation(e))
    }
}

/// Why a run stopped without an answer. An [`ErrorKind::Agent`] error carries
/// it ([`Error::agent_stop`]) with the [`Run`] so far ([`Error::run`]).
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
    /// The model's tool calls were cut by the token limit before they were
    /// whole (a constrained decision that ended at `max_tokens`): asking
    /// again under the same limit would cut them again.
    #[error(
        "the model's tool calls were cut at the token limit ({}); raise `max_tokens`",
        limit_text(*.max_tokens)
    )]
    CallsCut {
        /// The agent's `max_tokens`; `None`: the server's own limit.
        max_tokens: Option<u32>,
    },
    /// The model (or its provider) failed. The provider's error is the
    /// [`source`](std::error::Error::source).
    #[error("the model failed: {0}")]
    Model(#[source] Error),
}

/// How a token limit is named in an error.
fn limit_text(max_tokens: Option<u32>) -> String {
    match max_tokens {
        Some(n) => format!("max_tokens {n}"),
        None => "the server's own".to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_pointer() {
        assert_eq!(size_of::<Error>(), size_of::<usize>());
        assert_eq!(size_of::<Result<()>>(), size_of::<usize>());
    }

    #[test]
    fn a_source_is_kept_and_the_kind_says_what_happened() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::connection("the stream broke").with_source(io);
        assert_eq!(e.kind(), ErrorKind::Connection);
        assert!(e.is_retryable() && !e.is_timeout());
        let source = std::error::Error::source(&e).expect("the source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        let t = Error::timeout(Duration::from_secs(3));
        assert!(t.is_timeout() && t.timeout_after() == Some(Duration::from_secs(3)));
        let api = ApiError {
            status: 408,
            ..ApiError::default()
        };
        let late = Error::from_api(api);
        assert!(late.is_timeout() && late.status() == Some(408) && late.timeout_after().is_none());
    }

    #[test]
    fn an_api_error_says_its_code_once() {
        let llama_cpp = ApiError {
            status: 400,
            message: "request (2074 tokens) exceeds the available context size (2048 tokens)"
                .into(),
            kind: Some("exceed_context_size_error".into()),
            code: Some("400".into()),
            param: None,
        };
        assert_eq!(
            llama_cpp.to_string(),
            "HTTP 400: request (2074 tokens) exceeds the available context size (2048 tokens)"
        );
        let openai = ApiError {
            status: 404,
            message: "no such model".into(),
            code: Some("model_not_found".into()),
            ..ApiError::default()
        };
        assert_eq!(
            openai.to_string(),
            "HTTP 404 model_not_found: no such model"
        );
    }

    #[test]
    fn an_agent_error_gives_its_run_back_and_looks_through_to_the_model() {
        let model = Error::from_api(ApiError {
            status: 503,
            message: "down".into(),
            ..ApiError::default()
        });
        let e = Error::agent(AgentStop::Model(model), Run::default());
        assert_eq!(e.kind(), ErrorKind::Agent);
        assert!(e.is_retryable() && e.status() == Some(503) && e.run().is_some());
        let (stop, _run) = e.into_run().expect("an agent error");
        assert!(matches!(stop, AgentStop::Model(m) if m.kind() == ErrorKind::Server));
        assert!(Error::config("x").into_run().is_err());
    }
}

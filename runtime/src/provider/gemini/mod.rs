//! Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`):
//! contents and parts, function declarations in Gemini's schema dialect,
//! thought parts and their signatures sent back unchanged, thinking budgets,
//! structured output, inline and by-URI media (image, PDF, audio, video),
//! Google Search and URL context grounding, safety blocks as typed errors.

mod read;
mod storage;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel, Provider};
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, ErrorKind, Result};

#[cfg(any(test, feature = "testing"))]
pub use read::parse_response;

static PROVIDER: Provider = Provider {
    name: "gemini",
    base_url: "https://generativelanguage.googleapis.com/v1beta",
    key_header: Some("x-goog-api-key"),
    models_path: "/models?pageSize=1000",
    headers: &[],
    key_var: "GEMINI_API_KEY",
    url_var: "GEMINI_BASE_URL",
    key_how: "create a key at aistudio.google.com and export it",
    typed_error,
};

/// The provider name on the [`ProviderState`](crate::chat::ProviderState)s
/// this protocol writes.
const STATE_NAME: &str = "gemini";

/// Gemini's errors as typed errors: a bad key (a 400 `API_KEY_INVALID`) is
/// [`ErrorKind::Auth`](crate::ErrorKind::Auth), an unknown or malformed model name [`ErrorKind::ModelNotFound`](crate::ErrorKind::ModelNotFound).
fn typed_error(e: Error, model: &str) -> Error {
    let Some(api) = e.api_error() else {
        return e;
    };
    let refused = matches!(e.kind(), ErrorKind::BadRequest | ErrorKind::Auth);
    if refused && api.message.contains("API key") {
        e.into_auth()
    } else if e.kind() == ErrorKind::BadRequest
        && (api.status == 404 || (api.status == 400 && api.message.contains("model name")))
    {
        e.into_model_not_found(model)
    } else {
        e
    }
}

/// A client for the Gemini API. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Gemini, Model, chat::{ChatRequest, Message}};
/// let gemini = Gemini::from_env()?.model("gemini-flash-latest");
/// let answer = gemini.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
pub type Gemini = ProtocolClient<GenerateContentApi>;

/// A Gemini model of a [`Gemini`] client.
pub type GeminiModel = ProtocolModel<GenerateContentApi>;

/// Gemini's `generateContent`, as a model's settings: its thinking budget and
/// the cached contents it answers after (by default: neither).
#[derive(Debug, Clone, Default)]
pub struct GenerateContentApi {
    thinking_budget: Option<u32>,
    cached: Option<String>,
}

impl Gemini {
    /// A client for `https://generativelanguage.googleapis.com/v1beta` with
    /// this key (sent as `x-goog-api-key`, never in a URL).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self::with_key(&PROVIDER, api_key)
    }

    /// A client with the key from `GEMINI_API_KEY` (and the base URL from
    /// `GEMINI_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        Self::from_env_of(&PROVIDER)
    }

    /// A model (`gemini-flash-latest`, `gemini-pro-latest`, …), thinking as
    /// the model does by default.
    pub fn model(&self, name: impl Into<String>) -> GeminiModel {
        self.model_with(name.into(), capabilities(), GenerateContentApi::default())
    }
}

/// What the Gemini models take, as the recordings show: everything but
/// logprobs (refused on every recorded model) and citations into supplied
/// documents.
pub(crate) fn capabilities() -> Capabilities {
    let mut c = Capabilities::all();
    c.grammar = Support::No;
    c.logprobs = Support::No;
    c.citations = Support::No;
    c.reasoning_effort = Support::No;
    c.thinking = Thinking::OnRequest;
    c
}

impl GeminiModel {
    /// Sets how many tokens the model may think (`thinkingConfig`): `0` turns
    /// thinking off; otherwise the thoughts come back in
    /// [`ChatResponse::reasoning`]. Unset, the model decides and keeps its
    /// thoughts to itself.
    pub fn thinking_budget(mut self, tokens: u32) -> Self {
        self.settings.thinking_budget = Some(tokens);
        self.capabilities.thinking = if tokens > 0 {
            Thinking::Always
        } else {
            Thinking::Never
        };
        self
    }

    /// Answers after cached contents (`cachedContents/…`, see
    /// [`GeminiModel::create_cached_prompt`]): requests send only what
    /// follows them.
    pub fn cached_prompt(mut self, name: impl Into<String>) -> Self {
        self.settings.cached = Some(name.into());
        self
    }

    /// The JSON body this model would send for `request`.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`](crate::ErrorKind::Schema) when a tool's or the
    /// answer's schema cannot be written in Gemini's dialect (a recursive
    /// type).
    pub fn request_body(&self, request: &ChatRequest) -> Result<serde_json::Value> {
        let body = self.settings.body(&self.name, &(), request, false)?;
        Ok(serde_json::to_value(body).unwrap_or_default())
    }
}

impl Protocol for GenerateContentApi {
    type Decoder = read::StreamDecoder;
    type Client = ();
    type Body<'a> = write::Request<'a>;
    fn path(&self, model: &str, stream: bool) -> String {
        let name = write::path_segment(model);
        if stream {
            format!("/models/{name}:streamGenerateContent?alt=sse")
        } else {
            format!("/models/{name}:generateContent")
        }
    }
    fn body<'a>(
        &'a self,
        _model: &'a str,
        _client: &'a (),
        request: &'a ChatRequest,
        _stream: bool,
    ) -> Result<write::Request<'a>> {
        write::request_body(request, self.thinking_budget, self.cached.as_deref())
    }
    fn read(
        &self,
        text: &str,
        model: &str,
        _request: &ChatRequest,
        limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_response_within(text, model, limits)
    }
    fn decoder(
        &self,
        model: &str,
        _request: &ChatRequest,
        _head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self::Decoder {
        read::stream_decoder(model.to_owned(), key, limits)
    }
}

/// Reads a whole streamed Gemini answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the provider's error for an
/// error chunk, [`ErrorKind::Blocked`](crate::ErrorKind::Blocked) for a blocked prompt,
/// [`ErrorKind::Connection`](crate::ErrorKind::Connection) for a stream that ends before the model said why
/// it stopped.
#[cfg(any(test, feature = "testing"))]
pub fn parse_response_stream(body: &[u8]) -> Result<ChatResponse> {
    super::client::read_whole_stream(&GenerateContentApi::default(), body)
}

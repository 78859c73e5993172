//! Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`):
//! contents and parts, function declarations in Gemini's schema dialect,
//! thought parts and their signatures sent back unchanged, thinking budgets,
//! structured output, inline and by-URI media (image, PDF, audio, video),
//! Google Search and URL context grounding, safety blocks as typed errors.

mod storage;
mod wire;

use std::fmt;
use std::sync::Arc;

use tracing::Instrument;

use super::capabilities::{Capabilities, Support, Thinking};
use super::endpoint::{Endpoint, Sent, endpoint_builders};
use super::http::ApiKey;
use super::streaming;
use super::{BoxFuture, ChatStream, Model, check_request};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::Result;

pub use wire::parse_response;
#[cfg(test)]
pub(crate) use wire::stream_decoder;

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
#[derive(Clone)]
pub struct Gemini {
    inner: Arc<Endpoint>,
}

impl fmt::Debug for Gemini {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gemini")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl Gemini {
    /// A client for `https://generativelanguage.googleapis.com/v1beta` with
    /// this key (sent as `x-goog-api-key`, never in a URL).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Endpoint::new(
                "gemini",
                "https://generativelanguage.googleapis.com/v1beta",
                Some(ApiKey::in_header(api_key, "x-goog-api-key")),
            )),
        }
    }

    /// A client with the key from `GEMINI_API_KEY` (and the base URL from
    /// `GEMINI_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        let mut c = Self::new(Endpoint::key_from_env(
            "GEMINI_API_KEY",
            "create a key at aistudio.google.com and export it",
        )?);
        if let Some(url) = Endpoint::url_from_env("GEMINI_BASE_URL") {
            c = c.base_url(url);
        }
        Ok(c)
    }

    fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    endpoint_builders!();

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.inner.base_url
    }

    /// The models the key may use (`GET /models`).
    ///
    /// # Errors
    /// The provider's error ([`ErrorKind::Auth`](crate::ErrorKind::Auth) for a bad key), or
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer that is not a model list.
    pub async fn list_models(&self) -> Result<Vec<super::ModelInfo>> {
        let url = format!("{}/models?pageSize=1000", self.inner.base_url);
        self.inner
            .list_models(&url)
            .await
            .map_err(|e| wire::typed_error(e, ""))
    }

    /// A model (`gemini-flash-latest`, `gemini-pro-latest`, …), thinking as
    /// the model does by default.
    pub fn model(&self, name: impl Into<String>) -> GeminiModel {
        GeminiModel {
            client: self.clone(),
            capabilities: capabilities(),
            thinking_budget: None,
            cached: None,
            name: name.into(),
        }
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

/// A Gemini model of a [`Gemini`] client.
#[derive(Debug, Clone)]
pub struct GeminiModel {
    client: Gemini,
    name: String,
    capabilities: Capabilities,
    thinking_budget: Option<u32>,
    cached: Option<String>,
}

impl GeminiModel {
    /// Sets how many tokens the model may think (`thinkingConfig`): `0` turns
    /// thinking off; otherwise the thoughts come back in
    /// [`ChatResponse::reasoning`]. Unset, the model decides and keeps its
    /// thoughts to itself.
    pub fn thinking_budget(mut self, tokens: u32) -> Self {
        self.thinking_budget = Some(tokens);
        self.capabilities.thinking = if tokens > 0 {
            Thinking::Always
        } else {
            Thinking::Never
        };
        self
    }

    /// Declares what the model supports.
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// Answers after cached contents (`cachedContents/…`, see
    /// [`GeminiModel::create_cached_prompt`]): requests send only what
    /// follows them.
    pub fn cached_prompt(mut self, name: impl Into<String>) -> Self {
        self.cached = Some(name.into());
        self
    }

    /// The JSON body this model would send for `request`.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`](crate::ErrorKind::Schema) when a tool's or the answer's schema cannot be
    /// written in Gemini's dialect (a recursive type).
    pub fn request_body(&self, request: &ChatRequest) -> Result<serde_json::Value> {
        wire::request_body(request, self.thinking_budget, self.cached.as_deref())
    }

    async fn post(&self, request: &ChatRequest, stream: bool) -> Result<Sent<'_>> {
        check_request(&self.name, &self.capabilities, request)?;
        let endpoint = &self.client.inner;
        let name = wire::path_segment(&self.name);
        let url = if stream {
            format!(
                "{}/models/{name}:streamGenerateContent?alt=sse",
                endpoint.base_url
            )
        } else {
            format!("{}/models/{name}:generateContent", endpoint.base_url)
        };
        endpoint
            .post(url, &self.request_body(request)?, &self.name)
            .await
            .map_err(|e| wire::typed_error(e, &self.name))
    }

    async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let sent = self.post(request, false).await?;
        sent.read(|text, limits| wire::parse_response_within(text, &self.name, limits))
            .await
    }

    async fn stream_inner(&self, request: &ChatRequest) -> Result<ChatStream> {
        let sent = self.post(request, true).await?;
        let decoder = wire::stream_decoder(self.name.clone(), sent.key.cloned(), &sent.http.limits);
        Ok(sent.stream(decoder, super::record_usage))
    }
}

impl Model for GeminiModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span("gemini", &self.name, false);
        Box::pin(self.chat_inner(request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span("gemini", &self.name, true);
        Box::pin(self.stream_inner(request).instrument(span))
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
pub fn parse_response_stream(body: &[u8]) -> Result<ChatResponse> {
    let decoder = wire::stream_decoder(String::new(), None, &super::Limits::default());
    streaming::decode_whole(decoder, body)
}

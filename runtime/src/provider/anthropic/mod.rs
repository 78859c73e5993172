//! Anthropic's Messages API (`POST /v1/messages`): Claude models, blocking and
//! streaming, with tools, thinking, structured output, documents with
//! citations, image and PDF input, and Anthropic's own web tools.

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

pub use wire::parse_message;
#[cfg(test)]
pub(crate) use wire::stream_decoder;

/// The API version typecall speaks (`anthropic-version`).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A client for Anthropic's Messages API. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Anthropic, Model, chat::{ChatRequest, Message}};
/// let claude = Anthropic::from_env()?.model("claude-haiku-4-5-20251001");
/// let answer = claude.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Anthropic {
    inner: Arc<Endpoint>,
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl Anthropic {
    /// A client for `https://api.anthropic.com/v1` with this key (sent as
    /// `x-api-key`, never in a URL).
    pub fn new(api_key: impl Into<String>) -> Self {
        let key = ApiKey::in_header(api_key, "x-api-key");
        let mut endpoint = Endpoint::new("anthropic", "https://api.anthropic.com/v1", Some(key));
        endpoint
            .headers
            .push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
        Self {
            inner: Arc::new(endpoint),
        }
    }

    /// A client with the key from `ANTHROPIC_API_KEY` (and the base URL from
    /// `ANTHROPIC_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        let mut c = Self::new(Endpoint::key_from_env(
            "ANTHROPIC_API_KEY",
            "create a key at console.anthropic.com and export it",
        )?);
        if let Some(url) = Endpoint::url_from_env("ANTHROPIC_BASE_URL") {
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
        let url = format!("{}/models?limit=1000", self.inner.base_url);
        self.inner.list_models(&url).await
    }

    /// A model: thinking off, at most the model's own maximum tokens per
    /// answer unless a request says otherwise.
    pub fn model(&self, name: impl Into<String>) -> AnthropicModel {
        let name = name.into();
        AnthropicModel {
            client: self.clone(),
            capabilities: capabilities(&name, AnthropicThinking::Disabled),
            max_tokens: default_max_tokens(&name),
            thinking: AnthropicThinking::Disabled,
            name,
        }
    }
}

/// Whether and how a Claude model thinks before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnthropicThinking {
    /// No thinking (`{"type": "disabled"}`).
    Disabled,
    /// The model decides how much to think, and its thinking comes back
    /// summarized (`{"type": "adaptive", "display": "summarized"}`; Claude 4.6
    /// and later).
    Adaptive,
    /// Thinking with a budget of tokens (`{"type": "enabled", "budget_tokens": N}`;
    /// older models).
    Budget(u32),
}

/// The most tokens a model may write in one answer, which Anthropic requires
/// in every request: the model's own maximum, as its model listing gives it
/// (64 000 for Claude 4.5 and Sonnet 4, 32 000 for Opus 4 and 4.1, 8 192 for
/// Claude 3.x, 128 000 for later models).
pub(crate) fn default_max_tokens(model: &str) -> u32 {
    let m = model.to_ascii_lowercase();
    if m.starts_with("claude-3") {
        8_192
    } else if m.starts_with("claude-opus-4-0")
        || m.starts_with("claude-opus-4-1")
        || m.starts_with("claude-opus-4-2025")
    {
        32_000
    } else if m.starts_with("claude-haiku-4-5")
        || m.starts_with("claude-sonnet-4-5")
        || m.starts_with("claude-sonnet-4-2025")
        || m.starts_with("claude-sonnet-4-0")
        || m.starts_with("claude-opus-4-5")
    {
        64_000
    } else {
        128_000
    }
}

/// What Claude models take, as the recordings and Anthropic's model listing
/// show: JSON only with a schema (free-form JSON mode is refused), no seed, no
/// logprobs; images, PDFs, documents with citations, web search and fetch. A
/// thinking model cannot be forced to call a tool. Claude 3 models have no
/// structured output: an extraction falls back to a forced tool.
pub(crate) fn capabilities(model: &str, thinking: AnthropicThinking) -> Capabilities {
    let thinks = thinking != AnthropicThinking::Disabled;
    let mut c = Capabilities::all();
    c.grammar = Support::No;
    c.json_mode = Support::No;
    if model.to_ascii_lowercase().starts_with("claude-3") {
        c.json_schema = Support::No;
    }
    c.seed = Support::No;
    c.logprobs = Support::No;
    c.audio = Support::No;
    c.video = Support::No;
    c.reasoning_effort = Support::No;
    c.tool_choice_required = if thinks { Support::No } else { Support::Yes };
    c.thinking = if thinks {
        Thinking::Always
    } else {
        Thinking::OnRequest
    };
    c
}

/// A Claude model of an [`Anthropic`] client.
#[derive(Debug, Clone)]
pub struct AnthropicModel {
    client: Anthropic,
    name: String,
    capabilities: Capabilities,
    max_tokens: u32,
    thinking: AnthropicThinking,
}

impl AnthropicModel {
    /// Sets whether the model thinks (off by default). Thinking comes back in
    /// [`ChatResponse::reasoning`], and its signed blocks go back to Anthropic
    /// unchanged on later turns (through [`ChatResponse::provider_state`]).
    pub fn thinking(mut self, thinking: AnthropicThinking) -> Self {
        self.thinking = thinking;
        self.capabilities = capabilities(&self.name, thinking);
        self
    }

    /// Sets the most tokens per answer when a request does not say (by
    /// default the most the model can write, e.g. 64 000 for Claude Haiku 4.5).
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = n;
        self
    }

    /// Declares what the model supports.
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> serde_json::Value {
        wire::request_body(&self.wire_model(), request, stream)
    }

    fn wire_model(&self) -> wire::WireModel<'_> {
        wire::WireModel {
            name: &self.name,
            max_tokens: self.max_tokens,
            thinking: self.thinking,
        }
    }

    async fn post(&self, request: &ChatRequest, stream: bool) -> Result<Sent<'_>> {
        check_request(&self.name, &self.capabilities, request)?;
        let endpoint = &self.client.inner;
        let body = wire::request_body(&self.wire_model(), request, stream);
        let url = format!("{}/messages", endpoint.base_url);
        endpoint
            .post(url, &body, &self.name)
            .await
            .map_err(|e| wire::model_not_found(e, &self.name))
    }

    async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let sent = self.post(request, false).await?;
        sent.read(wire::parse_message_within).await
    }

    async fn stream_inner(&self, request: &ChatRequest) -> Result<ChatStream> {
        let sent = self.post(request, true).await?;
        let decoder = wire::stream_decoder(
            sent.resp.rate_limits(),
            self.name.clone(),
            sent.key.cloned(),
            &sent.http.limits,
        );
        Ok(sent.stream(decoder, super::record_usage))
    }
}

impl Model for AnthropicModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span("anthropic", &self.name, false);
        Box::pin(self.chat_inner(request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span("anthropic", &self.name, true);
        Box::pin(self.stream_inner(request).instrument(span))
    }
}

/// Reads a whole streamed Messages answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the provider's error for an
/// `error` event, [`ErrorKind::Connection`](crate::ErrorKind::Connection) for a stream that ends early.
pub fn parse_message_stream(body: &[u8]) -> Result<ChatResponse> {
    let decoder = wire::stream_decoder(
        Default::default(),
        String::new(),
        None,
        &super::Limits::default(),
    );
    streaming::decode_whole(decoder, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::OutputMode;

    #[test]
    fn extraction_on_a_claude_without_structured_output_uses_a_forced_tool() {
        let old = capabilities("claude-3-5-haiku-latest", AnthropicThinking::Disabled);
        assert_eq!(
            OutputMode::candidates(&old, false).first(),
            Some(&OutputMode::Tool)
        );
        let new = capabilities("claude-haiku-4-5-20251001", AnthropicThinking::Disabled);
        assert_eq!(
            OutputMode::candidates(&new, false).first(),
            Some(&OutputMode::Native)
        );
        assert_eq!(default_max_tokens("claude-3-5-haiku-latest"), 8_192);
        assert_eq!(default_max_tokens("claude-opus-5"), 128_000);
    }
}

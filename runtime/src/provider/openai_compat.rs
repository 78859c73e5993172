//! Any OpenAI-compatible chat-completions server: llama.cpp's `llama-server`,
//! vLLM, Ollama's `/v1`, OpenAI, Groq, OpenRouter, and Cerebras underneath.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::endpoint::{Endpoint, Sent, endpoint_builders};
use super::http::ApiKey;
use super::wire::{self, StreamDecoder, WireConfig};
use super::{BoxFuture, ChatStream, Model, check_request};
use crate::chat::{ChatRequest, ChatResponse, StreamAccumulator};
use crate::error::Result;

/// A client for an OpenAI-compatible server. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{OpenAiCompat, Model, chat::{ChatRequest, Message}};
/// let local = OpenAiCompat::new("http://127.0.0.1:8080/v1").model("smollm2");
/// let answer = local.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenAiCompat {
    inner: Arc<Inner>,
}

/// What a model of this server supports, by model name.
pub(crate) type CapabilityTable = Arc<dyn Fn(&str) -> Capabilities + Send + Sync>;

#[derive(Clone)]
struct Inner {
    endpoint: Endpoint,
    wire: WireConfig,
    capabilities: CapabilityTable,
}

impl fmt::Debug for OpenAiCompat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompat")
            .field("provider", &self.inner.endpoint.provider)
            .field("base_url", &self.inner.endpoint.base_url)
            .field("api_key", &self.inner.endpoint.key)
            .finish_non_exhaustive()
    }
}

/// A model listed by `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    /// The model's id, as requests name it.
    pub id: String,
    /// Who owns it, if said.
    pub owned_by: Option<String>,
}

impl OpenAiCompat {
    /// A client for the server at `base_url` (the part before
    /// `/chat/completions`, e.g. `http://127.0.0.1:8080/v1`), without an API key.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_parts(
            "openai_compat",
            base_url.into(),
            None,
            WireConfig::OPENAI,
            Arc::new(|_| Capabilities::unknown()),
        )
    }

    pub(crate) fn with_parts(
        provider: &'static str,
        base_url: String,
        key: Option<ApiKey>,
        wire: WireConfig,
        capabilities: CapabilityTable,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint: Endpoint::new(provider, &base_url, key),
                wire,
                capabilities,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        f(&mut Arc::make_mut(&mut self.inner).endpoint);
        self
    }

    endpoint_builders!();

    /// Sends `Authorization: Bearer <key>`.
    pub fn api_key(self, key: impl Into<String>) -> Self {
        let key = ApiKey::new(key);
        self.edit(|e| e.key = Some(key))
    }

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.inner.endpoint.base_url
    }

    /// Sends streamed requests with `stream_options: {include_usage: true}`
    /// (on by default; some servers reject the field).
    pub fn stream_usage(mut self, yes: bool) -> Self {
        Arc::make_mut(&mut self.inner).wire.stream_options = yes;
        self
    }

    /// A model of this server.
    pub fn model(&self, name: impl Into<String>) -> OpenAiCompatModel {
        let name = name.into();
        let capabilities = (self.inner.capabilities)(&name);
        OpenAiCompatModel {
            client: self.clone(),
            name,
            capabilities,
            extra: Vec::new(),
        }
    }

    /// The models the server lists (`GET /models`).
    ///
    /// # Errors
    /// The provider's error, or [`Error::Protocol`](crate::Error::Protocol) for an answer that is not a
    /// model list.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let url = format!("{}/models", self.inner.endpoint.base_url);
        self.inner.endpoint.list_models(&url).await
    }
}

/// A model of an [`OpenAiCompat`] server.
#[derive(Debug, Clone)]
pub struct OpenAiCompatModel {
    client: OpenAiCompat,
    name: String,
    capabilities: Capabilities,
    extra: Vec<(String, Value)>,
}

impl OpenAiCompatModel {
    /// Declares what the model supports (by default: what the provider's table
    /// says, or unknown).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// Adds a field to every request, as it is: a vendor's own option that
    /// typecall has no setter for (`service_tier`, llama.cpp's
    /// `cache_prompt`, DeepSeek's `thinking`, …). A later field of the same
    /// name replaces an earlier one; typecall's own fields cannot be replaced
    /// this way.
    pub fn extra_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.extra.retain(|(k, _)| *k != name);
        self.extra.push((name, value.into()));
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Value {
        wire::request_body(
            request,
            &self.name,
            stream,
            &self.client.inner.wire,
            &self.extra,
        )
    }

    /// Checks and sends a chat request.
    async fn post_chat(&self, request: &ChatRequest, stream: bool) -> Result<Sent<'_>> {
        check_request(&self.name, &self.capabilities, request)?;
        let inner = &self.client.inner;
        wire::check_expressible(&self.name, request, &inner.wire)?;
        let body = wire::WireRequest {
            req: request,
            model: &self.name,
            stream,
            wire: &inner.wire,
            extra: &self.extra,
        };
        let url = format!("{}/chat/completions", inner.endpoint.base_url);
        inner.endpoint.post(url, &body, &self.name).await
    }

    pub(crate) async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let sent = self.post_chat(request, false).await?;
        let rate_limits = sent.resp.rate_limits();
        let inference_id = sent.resp.header("inference-id").map(str::to_owned);
        let text = sent.text().await?;
        let response = wire::parse_response(&text, rate_limits, inference_id)?;
        super::record_usage(&response);
        Ok(response)
    }

    pub(crate) async fn stream_inner(&self, request: &ChatRequest) -> Result<ChatStream> {
        let sent = self.post_chat(request, true).await?;
        let accumulator = StreamAccumulator::new(
            sent.resp.rate_limits(),
            sent.resp.header("inference-id").map(str::to_owned),
        );
        let decoder = StreamDecoder::new(
            accumulator,
            sent.resp.status,
            self.name.clone(),
            sent.key.cloned(),
            &sent.http.limits,
        );
        Ok(sent.stream(decoder, super::record_usage))
    }
}

impl Model for OpenAiCompatModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span(self.client.inner.endpoint.provider, &self.name, false);
        Box::pin(self.chat_inner(request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span(self.client.inner.endpoint.provider, &self.name, true);
        Box::pin(self.stream_inner(request).instrument(span))
    }
}

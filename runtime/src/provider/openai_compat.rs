//! Any OpenAI-compatible chat-completions server: llama.cpp's `llama-server`,
//! vLLM, Ollama's `/v1`, OpenAI, Groq, OpenRouter, and Cerebras underneath.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::endpoint::{Endpoint, endpoint_builders};
use super::http::{ApiKey, HttpClient};
use super::streaming;
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

#[derive(Clone)]
struct Inner {
    endpoint: Endpoint,
    wire: WireConfig,
    capabilities: fn(&str) -> Capabilities,
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
            |_| Capabilities::unknown(),
        )
    }

    pub(crate) fn with_parts(
        provider: &'static str,
        base_url: String,
        key: Option<ApiKey>,
        wire: WireConfig,
        capabilities: fn(&str) -> Capabilities,
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

    fn http(&self) -> Result<&HttpClient> {
        self.inner.endpoint.http()
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

    fn span(&self, stream: bool) -> tracing::Span {
        tracing::info_span!(
            "chat",
            otel.name = %format!("chat {}", self.name),
            gen_ai.operation.name = "chat",
            gen_ai.system = self.client.inner.endpoint.provider,
            gen_ai.request.model = %self.name,
            gen_ai.request.stream = stream,
            gen_ai.response.id = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
        )
    }

    /// Checks and sends a chat request; returns the client, URL, body and the
    /// (successful) response with its body unread.
    async fn post_chat(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(HttpClient, String, super::http::Body, super::http::Response)> {
        check_request(&self.name, &self.capabilities, request)?;
        wire::check_expressible(&self.name, request, &self.client.inner.wire)?;
        let inner = &self.client.inner;
        let http = self.client.http()?.clone();
        let body = http.body(&wire::WireRequest {
            req: request,
            model: &self.name,
            stream,
            wire: &inner.wire,
            extra: &self.extra,
        })?;
        let url = format!("{}/chat/completions", inner.endpoint.base_url);
        let resp = http
            .send(
                reqwest::Method::POST,
                &url,
                inner.endpoint.key.as_ref(),
                &inner.endpoint.headers,
                Some(&body),
                &self.name,
            )
            .await?;
        Ok((http, url, body, resp))
    }

    pub(crate) async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let inner = &self.client.inner;
        let (http, url, body, resp) = self.post_chat(request, false).await?;
        let rate_limits = resp.rate_limits();
        let inference_id = resp.header("inference-id").map(str::to_owned);
        let text = http
            .read_text(
                &reqwest::Method::POST,
                &url,
                Some(&body),
                resp,
                inner.endpoint.key.as_ref(),
            )
            .await?;
        let response = wire::parse_response(&text, rate_limits, inference_id)?;
        super::record_usage(&response);
        Ok(response)
    }

    pub(crate) async fn stream_inner(&self, request: &ChatRequest) -> Result<ChatStream> {
        let inner = &self.client.inner;
        let (http, url, body, resp) = self.post_chat(request, true).await?;
        let accumulator = StreamAccumulator::new(
            resp.rate_limits(),
            resp.header("inference-id").map(str::to_owned),
        );
        let decoder = StreamDecoder::new(
            accumulator,
            resp.status,
            self.name.clone(),
            inner.endpoint.key.clone(),
            &http.limits,
        );
        Ok(streaming::event_stream(
            &http,
            url,
            body,
            resp,
            decoder,
            inner.endpoint.key.clone(),
            super::record_usage,
        ))
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
        let span = self.span(false);
        Box::pin(self.chat_inner(request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = self.span(true);
        Box::pin(self.stream_inner(request).instrument(span))
    }
}

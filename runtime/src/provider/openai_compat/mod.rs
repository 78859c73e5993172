//! Any OpenAI-compatible chat-completions server: llama.cpp's `llama-server`,
//! vLLM, Ollama's `/v1`, OpenAI, Groq, OpenRouter, and Cerebras underneath.

mod cerebras;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod stream;
mod vendors;

pub use cerebras::{Cerebras, CerebrasModel};
pub use vendors::Vendor;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::discovery::{self, Discovered, ServerKind};
use super::endpoint::{Endpoint, Sent, endpoint_builders};
use super::http::ApiKey;
use super::{BoxFuture, ChatStream, Model, check_request};
use crate::chat::{ChatRequest, ChatResponse, StreamAccumulator};
use crate::error::Result;
use encode::WireConfig;
use stream::StreamDecoder;

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
    /// Whether to ask the server what it is (a server typecall has no table
    /// for: `OpenAiCompat::new`, llama.cpp).
    discover: bool,
    /// What the server said, once asked; shared by the client's clones and
    /// its models.
    found: Arc<tokio::sync::OnceCell<Option<Discovered>>>,
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
    ///
    /// Before its first request, a model of this client asks the server what
    /// it is (`GET /models`, and llama.cpp's `/props`: a few milliseconds,
    /// once per client) and takes that kind of server's capabilities, unless
    /// [`OpenAiCompatModel::with_capabilities`] set them: on llama.cpp, tool
    /// calls are then held to the tools' schemas by a grammar
    /// ([`ToolMode::Constrained`](crate::ToolMode::Constrained)).
    pub fn new(base_url: impl Into<String>) -> Self {
        let mut client = Self::with_parts(
            "openai_compat",
            base_url.into(),
            None,
            WireConfig::OPENAI,
            Arc::new(|_| Capabilities::unknown()),
        );
        Arc::make_mut(&mut client.inner).discover = true;
        client
    }

    /// What kind of server this is, asking it once (see
    /// [`OpenAiCompat::new`]); `None` when it does not say.
    pub async fn server_kind(&self) -> Option<ServerKind> {
        self.discovered().await.map(|d| d.kind)
    }

    async fn discovered(&self) -> Option<&Discovered> {
        let inner = &self.inner;
        if !inner.discover {
            return None;
        }
        inner
            .found
            .get_or_init(|| discovery::discover(&inner.endpoint))
            .await
            .as_ref()
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
                discover: false,
                found: Arc::default(),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        f(&mut inner.endpoint);
        // Another URL may be another server.
        inner.found = Arc::default();
        self
    }

    pub(crate) fn discovering(self) -> Self {
        self.discovery(true)
    }

    /// Whether to ask the server what it is before the first request (on
    /// by default for [`OpenAiCompat::new`] and the llama.cpp preset; see
    /// [`OpenAiCompat::new`]). Off, nothing but the requests themselves is
    /// sent.
    pub fn discovery(mut self, yes: bool) -> Self {
        Arc::make_mut(&mut self.inner).discover = yes;
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
            declared: false,
            extra: Vec::new(),
        }
    }

    /// The models the server lists (`GET /models`).
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer that is not a
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
    /// Set by the user: not replaced by what the server says.
    declared: bool,
    extra: Vec<(String, Value)>,
}

impl OpenAiCompatModel {
    /// Declares what the model supports (by default: what the provider's table
    /// says, or unknown).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self.declared = true;
        self
    }

    /// What the model supports: what the user declared, else what the server
    /// said of itself (once asked), else the provider's table.
    fn current_capabilities(&self) -> Capabilities {
        if self.declared {
            return self.capabilities.clone();
        }
        match self.client.inner.found.get() {
            Some(Some(d)) => d.capabilities.clone(),
            _ => self.capabilities.clone(),
        }
    }

    /// Asks the server what it is, once per client (declared capabilities
    /// are kept, but the kind of server still tells how to talk to it); the
    /// first time, says when the server answers any model name and this one
    /// is not among its models.
    async fn discover_inner(&self) {
        // Asked before: said then (not again at every request).
        if self.client.inner.found.initialized() {
            return;
        }
        if let Some(d) = self.client.discovered().await
            && d.kind.ignores_model_names()
            && !d.models.contains(&self.name)
        {
            tracing::warn!(
                target: "typecall::provider",
                model = %self.name,
                serves = ?d.models,
                "this server answers with the model it serves, whatever the request names"
            );
        }
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
        encode::request_body(
            request,
            &self.name,
            stream,
            &self.client.inner.wire,
            &self.extra,
        )
    }

    /// Checks and sends a chat request.
    async fn post_chat(&self, request: &ChatRequest, stream: bool) -> Result<Sent<'_>> {
        let inner = &self.client.inner;
        encode::check_expressible(&self.name, request, &inner.wire)?;
        self.discover_inner().await;
        check_request(&self.name, &self.current_capabilities(), request)?;
        let body = encode::WireRequest {
            req: request,
            model: &self.name,
            stream,
            wire: &inner.wire,
            extra: &self.extra,
        };
        let url = format!("{}/chat/completions", inner.endpoint.base_url);
        // llama.cpp closes the connection after each stream although it
        // says keep-alive: a stream asks for the close, so that the next
        // request never meets that closed connection in the pool.
        let closes_after_stream = matches!(
            inner.found.get(),
            Some(Some(d)) if d.kind == ServerKind::LlamaCpp
        );
        let close = [("connection".to_owned(), "close".to_owned())];
        let extra: &[(String, String)] = if stream && closes_after_stream {
            &close
        } else {
            &[]
        };
        inner
            .endpoint
            .post_with(url, &body, &self.name, extra)
            .await
    }

    pub(crate) async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let sent = self.post_chat(request, false).await?;
        let rate_limits = sent.resp.rate_limits();
        let inference_id = sent.resp.header("inference-id").map(str::to_owned);
        let text = sent.text().await?;
        let response = decode::parse_response(&text, rate_limits, inference_id)?;
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
        self.current_capabilities()
    }
    fn discover(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.discover_inner())
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

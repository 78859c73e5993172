//! Any OpenAI-compatible chat-completions server: llama.cpp's `llama-server`,
//! vLLM, Ollama's `/v1`, OpenAI, Groq, OpenRouter, and Cerebras underneath.
//! The protocol ([`ChatCompletionsApi`]) over the one client
//! ([`ProtocolClient`]): its dialects as data ([`encode::WireConfig`], one
//! row per vendor in `vendors`), and what only it does: ask the server what
//! it is before the first request.

mod batch;
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

use super::BoxFuture;
use super::capabilities::Capabilities;
use super::client::{ProtocolClient, ProtocolModel};
use super::discovery::{self, Discovered, ServerKind};
use super::endpoint::Endpoint;
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, BodyExtras, Protocol};
use crate::chat::{ChatRequest, ChatResponse, MediaKind, StreamAccumulator};
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
pub type OpenAiCompat = ProtocolClient<ChatCompletionsApi, ChatCompletionsClient>;

/// A model of an [`OpenAiCompat`] server.
pub type OpenAiCompatModel = ProtocolModel<ChatCompletionsApi, ChatCompletionsClient>;

/// What a model of the chat-completions protocol (`POST /chat/completions`)
/// keeps besides its name: fields added to every request as they are.
#[derive(Debug, Clone)]
pub struct ChatCompletionsApi {
    extra: Vec<(String, Value)>,
    /// Where requests go after the base URL: `/chat/completions`, or
    /// nothing where the base URL is the endpoint itself (Pollinations's
    /// `…/openai`).
    endpoint_path: &'static str,
}

impl Default for ChatCompletionsApi {
    fn default() -> Self {
        Self {
            extra: Vec::new(),
            endpoint_path: "/chat/completions",
        }
    }
}

/// What an [`OpenAiCompat`] client keeps besides where it sends: the
/// server's dialect, what its models support, and whether to ask the server
/// what it is.
#[derive(Clone)]
pub struct ChatCompletionsClient {
    wire: WireConfig,
    capabilities: CapabilityTable,
    /// Whether to ask the server what it is (a server typecall has no table
    /// for: `OpenAiCompat::new`, llama.cpp).
    discover: bool,
}

impl fmt::Debug for ChatCompletionsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatCompletionsClient")
            .field("discover", &self.discover)
            .finish_non_exhaustive()
    }
}

/// What a model of this server supports, by model name.
pub(crate) type CapabilityTable = Arc<dyn Fn(&str) -> Capabilities + Send + Sync>;

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
        Self::with_parts(
            "openai_compat",
            base_url.into(),
            None,
            WireConfig::OPENAI,
            Arc::new(|_| Capabilities::unknown()),
        )
        .discovering()
    }

    /// What kind of server this is, asking it once (see
    /// [`OpenAiCompat::new`]); `None` when it does not say.
    pub async fn server_kind(&self) -> Option<ServerKind> {
        discovered(self).await.map(|d| d.kind)
    }

    pub(crate) fn with_parts(
        provider: &'static str,
        base_url: String,
        key: Option<ApiKey>,
        wire: WireConfig,
        capabilities: CapabilityTable,
    ) -> Self {
        Self::from_parts(
            Endpoint::new(provider, &base_url, key),
            ChatCompletionsClient {
                wire,
                capabilities,
                discover: false,
            },
        )
    }

    pub(crate) fn discovering(self) -> Self {
        self.discovery(true)
    }

    /// Whether to ask the server what it is before the first request (on
    /// by default for [`OpenAiCompat::new`] and the llama.cpp preset; see
    /// [`OpenAiCompat::new`]). Off, nothing but the requests themselves is
    /// sent.
    pub fn discovery(self, yes: bool) -> Self {
        self.edit_state(|s| s.discover = yes)
    }

    /// Sends `Authorization: Bearer <key>`.
    pub fn api_key(self, key: impl Into<String>) -> Self {
        let key = ApiKey::new(key);
        self.edit(|e| e.key = Some(key))
    }

    /// Sends streamed requests with `stream_options: {include_usage: true}`
    /// (on by default; some servers reject the field).
    pub fn stream_usage(self, yes: bool) -> Self {
        self.edit_state(|s| s.wire.stream_options = yes)
    }

    /// A model of this server.
    pub fn model(&self, name: impl Into<String>) -> OpenAiCompatModel {
        let name = name.into();
        let capabilities = (self.inner.state.capabilities)(&name);
        let settings = ChatCompletionsApi {
            extra: Vec::new(),
            endpoint_path: self.inner.state.wire.endpoint_path,
        };
        self.model_with(name, capabilities, settings)
    }
}

/// What the server said of itself, asking it once per client when the client
/// asks servers (see [`OpenAiCompat::new`]).
async fn discovered(client: &OpenAiCompat) -> Option<&Discovered> {
    let inner = &client.inner;
    if !inner.state.discover {
        return None;
    }
    inner
        .found
        .get_or_init(|| discovery::discover(&inner.endpoint))
        .await
        .as_ref()
}

impl OpenAiCompatModel {
    /// Adds a field to every request, as it is: a vendor's own option that
    /// typecall has no setter for (`service_tier`, llama.cpp's
    /// `cache_prompt`, DeepSeek's `thinking`, …). A later field of the same
    /// name replaces an earlier one; typecall's own fields cannot be replaced
    /// this way.
    pub fn extra_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.settings.extra.retain(|(k, _)| *k != name);
        self.settings.extra.push((name, value.into()));
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Value {
        encode::request_body(
            request,
            &self.name,
            stream,
            &self.client.inner.state.wire,
            &self.settings.extra,
        )
    }
}

impl Protocol for ChatCompletionsApi {
    type Decoder = StreamDecoder;
    type Client = ChatCompletionsClient;
    type Body<'a> = encode::WireRequest<'a>;

    /// Speech (`audio` in the request, `message.audio` in the answer).
    const MEDIA_OUTPUT: &'static [MediaKind] = &[MediaKind::Audio];

    fn path(&self, _model: &str, _stream: bool) -> String {
        self.endpoint_path.into()
    }

    fn body<'a>(
        &'a self,
        model: &'a str,
        client: &'a ChatCompletionsClient,
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<encode::WireRequest<'a>> {
        Ok(encode::WireRequest::new(
            request,
            model,
            stream,
            &client.wire,
            &self.extra,
        ))
    }

    fn read(
        &self,
        text: &str,
        _model: &str,
        _request: &ChatRequest,
        _limits: &Limits,
        head: &AnswerHead,
    ) -> Result<ChatResponse> {
        decode::parse_response(text, &head.rate_limits)
    }

    fn decoder(
        &self,
        model: &str,
        _request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> StreamDecoder {
        let status = head.status;
        let accumulator = StreamAccumulator::new(head.rate_limits, head.inference_id);
        StreamDecoder::new(accumulator, status, model.to_owned(), key, limits)
    }

    fn check(m: &OpenAiCompatModel, request: &ChatRequest) -> Result<()> {
        encode::check_expressible(&m.name, request, &m.client.inner.state.wire)
    }

    /// Asks the server what it is, once per client (declared capabilities
    /// are kept, but the kind of server still tells how to talk to it); the
    /// first time, says when the server answers any model name and this one
    /// is not among its models.
    fn prepare(m: &OpenAiCompatModel) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Asked before: said then (not again at every request).
            if m.client.inner.found.initialized() {
                return;
            }
            if let Some(d) = discovered(&m.client).await
                && d.kind.ignores_model_names()
                && !d.models.contains(&m.name)
            {
                tracing::warn!(
                    target: "typecall::provider",
                    model = %m.name,
                    serves = ?d.models,
                    "this server answers with the model it serves, whatever the request names"
                );
            }
        })
    }

    /// What the model supports: what the user declared, else what the server
    /// said of itself (once asked), else the provider's table.
    fn capabilities(m: &OpenAiCompatModel) -> Capabilities {
        if m.declared {
            return m.capabilities.clone();
        }
        match m.client.inner.found.get() {
            Some(Some(d)) => d.capabilities.clone(),
            _ => m.capabilities.clone(),
        }
    }

    /// What llama.cpp takes besides: it starts from a cached prompt when
    /// `cache_prompt` is on (its default, which a server may turn off, as
    /// typecall's launcher does so that a seed gives the same answer whatever
    /// ran before): a request that repeats the one before it turns it on,
    /// unless the model's own [`extra_field`](OpenAiCompatModel::extra_field)
    /// says otherwise. And it continues a last assistant message: a request's
    /// [prefill](ChatRequest#structfield.prefill) is sent as one.
    fn body_extras(m: &OpenAiCompatModel, request: &ChatRequest) -> BodyExtras {
        let llama_cpp = matches!(
            m.client.inner.found.get(),
            Some(Some(d)) if d.kind == ServerKind::LlamaCpp
        );
        if !llama_cpp {
            return BodyExtras::default();
        }
        let user_set = m.settings.extra.iter().any(|(k, _)| k == "cache_prompt");
        BodyExtras {
            field: (request.reuse_prompt && !user_set).then(|| ("cache_prompt", Value::Bool(true))),
            last_message: request
                .prefill
                .as_ref()
                .map(|text| serde_json::json!({"role": "assistant", "content": text})),
        }
    }

    /// llama.cpp closes the connection after each stream although it says
    /// keep-alive: a stream asks for the close, so that the next request
    /// never meets that closed connection in the pool.
    fn extra_header(m: &OpenAiCompatModel, stream: bool) -> Option<(&'static str, &'static str)> {
        let closes_after_stream = matches!(
            m.client.inner.found.get(),
            Some(Some(d)) if d.kind == ServerKind::LlamaCpp
        );
        (stream && closes_after_stream).then_some(("connection", "close"))
    }
}

//! Any OpenAI-compatible chat-completions server: llama.cpp's `llama-server`,
//! vLLM, Ollama's `/v1`, OpenAI, Groq, OpenRouter, and Cerebras underneath.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use serde_json::Value;
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::http::{
    ApiKey, ExchangeObserver, HttpClient, Limits, RetryPolicy, connection_error, too_large,
};
use super::wire::{self, StreamDecoder, WireConfig};
use super::{BoxFuture, ChatStream, Model, check_request};
use crate::chat::{ChatRequest, ChatResponse, StreamAccumulator, StreamEvent};
use crate::error::{Error, Result};

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
    provider: &'static str,
    base_url: String,
    key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    wire: WireConfig,
    http: Option<HttpClient>,
    http_error: Option<String>,
    capabilities: fn(&str) -> Capabilities,
}

impl fmt::Debug for OpenAiCompat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompat")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.key)
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
            WireConfig {
                stream_options: true,
                reasoning_field: None,
            },
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
        let (http, http_error) = match HttpClient::new() {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            inner: Arc::new(Inner {
                provider,
                base_url: base_url.trim_end_matches('/').to_owned(),
                key,
                headers: Vec::new(),
                wire,
                http,
                http_error,
                capabilities,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Sends `Authorization: Bearer <key>`.
    pub fn api_key(self, key: impl Into<String>) -> Self {
        let key = ApiKey::new(key);
        self.edit(|i| i.key = Some(key))
    }

    /// Sends this header with every request.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let h = (name.into(), value.into());
        self.edit(|i| i.headers.push(h))
    }

    /// Replaces the base URL (a local replay server, a proxy).
    pub fn base_url(self, url: impl Into<String>) -> Self {
        let url = url.into().trim_end_matches('/').to_owned();
        self.edit(|i| i.base_url = url)
    }

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.inner.base_url
    }

    /// Sets the retry policy.
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.edit(|i| {
            if let Some(h) = &mut i.http {
                h.retry = policy;
            }
        })
    }

    /// Sets the per-request timeout (for a stream: until the answer starts, and
    /// then the longest silence between two chunks).
    pub fn timeout(self, d: Duration) -> Self {
        self.edit(|i| {
            if let Some(h) = &mut i.http {
                h.timeout = d;
            }
        })
    }

    /// Sets how much a server may send and how long a stream may last (see
    /// [`Limits`]; the defaults suit hosted APIs and local servers alike).
    pub fn limits(self, limits: Limits) -> Self {
        self.edit(|i| {
            if let Some(h) = &mut i.http {
                h.limits = limits;
            }
        })
    }

    /// Sends requests through this `reqwest` client (proxies, TLS roots,
    /// middleware, a shared connection pool). By default each provider builds
    /// its own. The retry policy, timeout and limits still apply.
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.edit(|i| match &mut i.http {
            Some(h) => h.client = client,
            None => {
                i.http = Some(HttpClient::with_client(client));
                i.http_error = None;
            }
        })
    }

    /// Shows every exchange to `observer` (a recorder).
    pub fn observe(self, observer: Arc<dyn ExchangeObserver>) -> Self {
        self.edit(|i| {
            if let Some(h) = &mut i.http {
                h.observer = Some(observer);
            }
        })
    }

    /// Sends streamed requests with `stream_options: {include_usage: true}`
    /// (on by default; some servers reject the field).
    pub fn stream_usage(self, yes: bool) -> Self {
        self.edit(|i| i.wire.stream_options = yes)
    }

    /// A model of this server.
    pub fn model(&self, name: impl Into<String>) -> OpenAiCompatModel {
        let name = name.into();
        let capabilities = (self.inner.capabilities)(&name);
        OpenAiCompatModel {
            client: self.clone(),
            name,
            capabilities,
        }
    }

    fn http(&self) -> Result<&HttpClient> {
        self.inner
            .http
            .as_ref()
            .ok_or_else(|| Error::Config(self.inner.http_error.clone().unwrap_or_default()))
    }

    /// The models the server lists (`GET /models`).
    ///
    /// # Errors
    /// The provider's error, or [`Error::Protocol`] for an answer that is not a
    /// model list.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let url = format!("{}/models", self.inner.base_url);
        let http = self.http()?;
        let resp = http
            .send(
                reqwest::Method::GET,
                &url,
                self.inner.key.as_ref(),
                &self.inner.headers,
                None,
                "",
            )
            .await?;
        let text = http
            .read_text(
                &reqwest::Method::GET,
                &url,
                None,
                resp,
                self.inner.key.as_ref(),
            )
            .await?;
        let v: Value = serde_json::from_str(&text).map_err(|_| Error::Protocol {
            what: "a model list".into(),
            excerpt: crate::error::excerpt(&text, 200),
        })?;
        let list = v
            .get("data")
            .or_else(|| v.get("models"))
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Protocol {
                what: "a model list (no `data`)".into(),
                excerpt: crate::error::excerpt(&text, 200),
            })?;
        Ok(list
            .iter()
            .filter_map(|m| {
                let id = m
                    .get("id")
                    .or_else(|| m.get("model"))
                    .or_else(|| m.get("name"))?
                    .as_str()?
                    .to_owned();
                Some(ModelInfo {
                    id,
                    owned_by: m.get("owned_by").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect())
    }
}

/// A model of an [`OpenAiCompat`] server.
#[derive(Debug, Clone)]
pub struct OpenAiCompatModel {
    client: OpenAiCompat,
    name: String,
    capabilities: Capabilities,
}

impl OpenAiCompatModel {
    /// Declares what the model supports (by default: what the provider's table
    /// says, or unknown).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Value {
        wire::request_body(request, &self.name, stream, &self.client.inner.wire)
    }

    fn span(&self, stream: bool) -> tracing::Span {
        tracing::info_span!(
            "chat",
            otel.name = %format!("chat {}", self.name),
            gen_ai.operation.name = "chat",
            gen_ai.system = self.client.inner.provider,
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
        let inner = &self.client.inner;
        let http = self.client.http()?.clone();
        let body = http.body(&wire::WireRequest {
            req: request,
            model: &self.name,
            stream,
            wire: &inner.wire,
        })?;
        let url = format!("{}/chat/completions", inner.base_url);
        let resp = http
            .send(
                reqwest::Method::POST,
                &url,
                inner.key.as_ref(),
                &inner.headers,
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
                inner.key.as_ref(),
            )
            .await?;
        let response = wire::parse_response(&text, rate_limits, inference_id)?;
        record_usage(&response);
        Ok(response)
    }

    pub(crate) async fn stream_inner(&self, request: &ChatRequest) -> Result<ChatStream> {
        let inner = &self.client.inner;
        let (http, url, body, resp) = self.post_chat(request, true).await?;
        let accumulator = StreamAccumulator::new(
            resp.rate_limits(),
            resp.header("inference-id").map(str::to_owned),
        );
        let record = http.observer.as_ref().map(|o| Recording {
            observer: o.clone(),
            url,
            body: body.json.unwrap_or_default(),
            status: resp.status,
            headers: resp.owned_headers(),
            raw: Vec::new(),
        });
        let state = StreamState {
            body: Box::pin(resp.inner.bytes_stream()),
            decoder: StreamDecoder::new(
                accumulator,
                resp.status,
                self.name.clone(),
                inner.key.clone(),
                &http.limits,
            ),
            pending: VecDeque::new(),
            idle_timeout: http.timeout,
            deadline: tokio::time::Instant::now() + http.limits.stream_deadline.min(CENTURY),
            timer: Box::pin(tokio::time::sleep(http.timeout.min(CENTURY))),
            stream_deadline: http.limits.stream_deadline,
            received: 0,
            max_body_bytes: http.limits.max_body_bytes,
            key: inner.key.clone(),
            record,
            span: tracing::Span::current(),
        };
        Ok(Box::pin(futures_util::stream::unfold(state, next_event)))
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

fn record_usage(r: &ChatResponse) {
    let span = tracing::Span::current();
    span.record("gen_ai.response.id", r.id.as_str());
    span.record(
        "gen_ai.response.finish_reasons",
        tracing::field::debug(&r.finish_reason),
    );
    span.record("gen_ai.usage.input_tokens", r.usage.prompt_tokens);
    span.record("gen_ai.usage.output_tokens", r.usage.completion_tokens);
}

struct Recording {
    observer: Arc<dyn ExchangeObserver>,
    url: String,
    body: Value,
    status: u16,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
}

/// A bound for user-set durations added to an `Instant` (which would overflow
/// at `Duration::MAX`).
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

struct StreamState {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: StreamDecoder,
    pending: VecDeque<Result<StreamEvent>>,
    /// The longest silence between two chunks.
    idle_timeout: Duration,
    /// When the whole stream must have ended, keep-alives or not.
    deadline: tokio::time::Instant,
    /// The timer for the silence between chunks and the deadline.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    stream_deadline: Duration,
    /// Body bytes so far, against `max_body_bytes`.
    received: usize,
    max_body_bytes: usize,
    key: Option<ApiKey>,
    record: Option<Recording>,
    span: tracing::Span,
}

impl StreamState {
    /// Once the decoder is done: the span gets the usage, the observer the
    /// whole exchange.
    fn settle(&mut self) {
        if !self.decoder.is_done() {
            return;
        }
        if let Some(Ok(StreamEvent::Done(response))) = self.pending.back() {
            let _entered = self.span.enter();
            record_usage(response);
        }
        if let Some(r) = self.record.take() {
            r.observer.on_exchange(super::http::Exchange {
                method: "POST".into(),
                url: r.url,
                request_body: Some(r.body),
                status: r.status,
                headers: r.headers,
                body: String::from_utf8_lossy(&r.raw).into_owned(),
            });
        }
    }
}

async fn next_event(mut s: StreamState) -> Option<(Result<StreamEvent>, StreamState)> {
    loop {
        if let Some(ev) = s.pending.pop_front() {
            return Some((ev, s));
        }
        if s.decoder.is_done() {
            return None;
        }
        let idle = tokio::time::Instant::now() + s.idle_timeout.min(CENTURY);
        let (wake, limit) = if idle < s.deadline {
            (idle, s.idle_timeout)
        } else {
            (s.deadline, s.stream_deadline)
        };
        // One timer for the whole stream, re-armed per chunk (a chunk that is
        // already there is taken without touching it).
        s.timer.as_mut().reset(wake);
        let next = tokio::select! {
            biased;
            item = s.body.next() => Ok(item),
            () = s.timer.as_mut() => Err(()),
        };
        match next {
            Err(()) => s.decoder.fail(Error::Timeout(limit), &mut s.pending),
            Ok(Some(Ok(bytes))) => {
                s.received = s.received.saturating_add(bytes.len());
                if s.received > s.max_body_bytes {
                    s.decoder.fail(
                        too_large("the streamed response", s.max_body_bytes, "max_body_bytes"),
                        &mut s.pending,
                    );
                } else {
                    if let Some(r) = &mut s.record {
                        r.raw.extend_from_slice(&bytes);
                    }
                    s.decoder.push(&bytes, &mut s.pending);
                }
            }
            Ok(Some(Err(e))) => {
                let err = connection_error(&e, s.key.as_ref());
                s.decoder.fail(
                    Error::Connection(format!(
                        "the stream broke before the answer was complete: {err}"
                    )),
                    &mut s.pending,
                );
            }
            Ok(None) => s.decoder.finish(&mut s.pending),
        }
        s.settle();
    }
}

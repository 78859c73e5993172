//! OpenAI's Responses API (`POST /v1/responses`): input items, function
//! calls by `call_id`, reasoning carried across turns (by
//! `previous_response_id` when the server stores responses, as encrypted
//! reasoning items when it does not), `text.format` structured output, web
//! search, image and PDF input, and its semantic stream events.

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

/// A client for OpenAI's Responses API. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{OpenAiResponses, Model, chat::{ChatRequest, Message}};
/// let gpt = OpenAiResponses::from_env()?.model("gpt-5.6-luna");
/// let answer = gpt.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenAiResponses {
    inner: Arc<Endpoint>,
}

impl fmt::Debug for OpenAiResponses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiResponses")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

impl OpenAiResponses {
    /// A client for `https://api.openai.com/v1` with this key (sent as
    /// `Authorization: Bearer`).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Endpoint::new(
                "openai",
                "https://api.openai.com/v1",
                Some(ApiKey::new(api_key)),
            )),
        }
    }

    /// A client with the key from `OPENAI_API_KEY` (and the base URL from
    /// `OPENAI_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        let mut c = Self::new(Endpoint::key_from_env(
            "OPENAI_API_KEY",
            "create a key at platform.openai.com and export it",
        )?);
        if let Some(url) = Endpoint::url_from_env("OPENAI_BASE_URL") {
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
        let url = format!("{}/models", self.inner.base_url);
        self.inner.list_models(&url).await
    }

    /// A model: responses stored by the server (so later turns refer to them
    /// by id), no reasoning summary asked for.
    pub fn model(&self, name: impl Into<String>) -> OpenAiResponsesModel {
        let name = name.into();
        OpenAiResponsesModel {
            client: self.clone(),
            capabilities: capabilities(&name),
            options: wire::Options {
                store: true,
                reasoning_summary: false,
                service_tier: None,
            },
            name,
        }
    }
}

/// What the Responses models take, as the recordings show: tools (forced
/// too), JSON mode and strict schemas, web search, images and PDFs; no seed,
/// no stop sequences, no citations into supplied documents, and no logprobs
/// on reasoning models (every `gpt-5*`, `o*` model).
pub(crate) fn capabilities(model: &str) -> Capabilities {
    let reasoning = model.starts_with("gpt-5") || model.starts_with('o');
    let mut c = Capabilities::all();
    c.grammar = Support::No;
    c.seed = Support::No;
    c.stop = Support::No;
    c.citations = Support::No;
    c.web_fetch = Support::No;
    c.audio = Support::No;
    c.video = Support::No;
    c.logprobs = if reasoning { Support::No } else { Support::Yes };
    c.reasoning_effort = if reasoning { Support::Yes } else { Support::No };
    c.thinking = if reasoning {
        Thinking::Always
    } else {
        Thinking::Never
    };
    c
}

/// A model of an [`OpenAiResponses`] client.
#[derive(Debug, Clone)]
pub struct OpenAiResponsesModel {
    client: OpenAiResponses,
    name: String,
    capabilities: Capabilities,
    options: wire::Options,
}

impl OpenAiResponsesModel {
    /// Whether the server keeps responses (`store`, on by default). When it
    /// does, a later turn names the earlier response (`previous_response_id`)
    /// instead of sending the conversation and reasoning again; when it does
    /// not, encrypted reasoning items travel in the request.
    pub fn store(mut self, yes: bool) -> Self {
        self.options.store = yes;
        self
    }

    /// Asks for a summary of the model's reasoning (`reasoning.summary:
    /// "auto"`), returned in [`ChatResponse::reasoning`].
    pub fn reasoning_summary(mut self, yes: bool) -> Self {
        self.options.reasoning_summary = yes;
        self
    }

    /// Sets the service tier (`"flex"`, `"priority"`, …).
    pub fn service_tier(mut self, tier: impl Into<String>) -> Self {
        self.options.service_tier = Some(tier.into());
        self
    }

    /// Declares what the model supports.
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> serde_json::Value {
        wire::request_body(&self.name, &self.options, request, stream)
    }

    async fn post(&self, request: &ChatRequest, stream: bool) -> Result<Sent<'_>> {
        check_request(&self.name, &self.capabilities, request)?;
        let endpoint = &self.client.inner;
        let url = format!("{}/responses", endpoint.base_url);
        endpoint
            .post(url, &self.request_body(request, stream), &self.name)
            .await
    }

    async fn chat_inner(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let sent = self.post(request, false).await?;
        sent.read(wire::parse_response_within).await
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

impl Model for OpenAiResponsesModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span("openai", &self.name, false);
        Box::pin(self.chat_inner(request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span("openai", &self.name, true);
        Box::pin(self.stream_inner(request).instrument(span))
    }
}

/// Reads a whole streamed Responses answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the provider's error for a
/// failed response or an `error` event, [`ErrorKind::Connection`](crate::ErrorKind::Connection) for a stream
/// that ends early.
pub fn parse_response_stream(body: &[u8]) -> Result<ChatResponse> {
    let decoder = wire::stream_decoder(
        Default::default(),
        String::new(),
        None,
        &super::Limits::default(),
    );
    streaming::decode_whole(decoder, body)
}

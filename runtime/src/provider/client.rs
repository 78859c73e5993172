//! One client and one model type for every protocol: the builders,
//! `list_models`, the span, sending with retries and reading blocking or
//! streamed answers are written here once; a protocol
//! ([`Protocol`](super::protocol::Protocol)) says only where a request goes,
//! how it is written and how its answer is read. [`OpenAiCompat`](super::OpenAiCompat),
//! [`Anthropic`](super::Anthropic), [`Gemini`](super::Gemini) and
//! [`OpenAiResponses`](super::OpenAiResponses) are [`ProtocolClient`]s of
//! their protocols.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tracing::Instrument;

use super::discovery::Discovered;
use super::endpoint::{Endpoint, Sent, endpoint_builders};
use super::http::ApiKey;
use super::protocol::Protocol;
use super::{BoxFuture, Capabilities, ChatStream, Model, ModelInfo, check_request};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, Result};

/// What a provider's client is made of besides its protocol: the provider's
/// name (for spans), its defaults, and how it types its errors.
pub(crate) struct Provider {
    /// `gen_ai.system` on spans.
    pub name: &'static str,
    pub base_url: &'static str,
    /// The key: in this header, or `Authorization: Bearer` when `None`.
    pub key_header: Option<&'static str>,
    /// The path and query that list the models.
    pub models_path: &'static str,
    /// Headers every request carries.
    pub headers: &'static [(&'static str, &'static str)],
    /// The environment variables of the key and base URL, and where to get a
    /// key.
    pub key_var: &'static str,
    pub url_var: &'static str,
    pub key_how: &'static str,
    /// The provider's own reading of its error answers.
    pub typed_error: fn(Error, &str) -> Error,
}

/// A client for a provider that speaks protocol `P`: where requests go, with
/// which key and headers, through which HTTP client, and what the protocol's
/// clients keep besides (`S`). Cheap to clone.
/// [`OpenAiCompat`](super::OpenAiCompat), [`Anthropic`](super::Anthropic),
/// [`Gemini`](super::Gemini) and [`OpenAiResponses`](super::OpenAiResponses)
/// are this type.
pub struct ProtocolClient<P, S = ()> {
    pub(crate) inner: Arc<ClientInner<S>>,
    protocol: PhantomData<fn() -> P>,
}

/// What a client holds, shared by its clones and models.
#[derive(Clone)]
pub(crate) struct ClientInner<S> {
    pub endpoint: Endpoint,
    /// The protocol's own (chat completions: its dialect, capability table,
    /// whether to ask the server what it is).
    pub state: S,
    /// What the server said of itself, once asked (only chat completions
    /// asks); forgotten when the endpoint changes.
    pub found: Arc<tokio::sync::OnceCell<Option<Discovered>>>,
}

impl<P, S> Clone for ProtocolClient<P, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            protocol: PhantomData,
        }
    }
}

impl<P, S> fmt::Debug for ProtocolClient<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolClient")
            .field("provider", &self.inner.endpoint.provider)
            .field("base_url", &self.inner.endpoint.base_url)
            .field("api_key", &self.inner.endpoint.key)
            .finish_non_exhaustive()
    }
}

impl<P, S: Clone> ProtocolClient<P, S> {
    /// A client sending to `endpoint`, keeping `state`.
    pub(crate) fn from_parts(endpoint: Endpoint, state: S) -> Self {
        Self {
            inner: Arc::new(ClientInner {
                endpoint,
                state,
                found: Arc::default(),
            }),
            protocol: PhantomData,
        }
    }

    /// Changes the protocol's own state.
    pub(crate) fn edit_state(mut self, f: impl FnOnce(&mut S)) -> Self {
        f(&mut Arc::make_mut(&mut self.inner).state);
        self
    }

    pub(crate) fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        f(&mut inner.endpoint);
        // Another URL may be another server.
        inner.found = Arc::default();
        self
    }

    endpoint_builders!();

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.inner.endpoint.base_url
    }

    /// The models the key may use (`GET /models`).
    ///
    /// # Errors
    /// The provider's error ([`ErrorKind::Auth`](crate::ErrorKind::Auth) for
    /// a bad key), or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for
    /// an answer that is not a model list.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let e = &self.inner.endpoint;
        let url = format!("{}{}", e.base_url, e.models_path);
        e.list_models(&url)
            .await
            .map_err(|err| (e.typed_error)(err, ""))
    }

    /// A model of this client with these protocol settings.
    pub(crate) fn model_with(
        &self,
        name: String,
        capabilities: Capabilities,
        settings: P,
    ) -> ProtocolModel<P, S> {
        ProtocolModel {
            client: self.clone(),
            name,
            capabilities,
            declared: false,
            settings,
        }
    }
}

impl<P> ProtocolClient<P> {
    /// A client of `provider` with this key.
    pub(crate) fn with_key(provider: &'static Provider, api_key: impl Into<String>) -> Self {
        let key = match provider.key_header {
            Some(header) => ApiKey::in_header(api_key, header),
            None => ApiKey::new(api_key),
        };
        let mut endpoint = Endpoint::new(provider.name, provider.base_url, Some(key));
        endpoint.models_path = provider.models_path;
        endpoint.typed_error = provider.typed_error;
        endpoint.headers.extend(
            provider
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Self::from_parts(endpoint, ())
    }

    /// A client of `provider` with the key (and base URL, if set) from its
    /// environment variables.
    pub(crate) fn from_env_of(provider: &'static Provider) -> Result<Self> {
        let key = Endpoint::key_from_env(provider.key_var, provider.key_how)?;
        let mut c = Self::with_key(provider, key);
        if let Some(url) = Endpoint::url_from_env(provider.url_var) {
            c = c.base_url(url);
        }
        Ok(c)
    }
}

/// A model of a [`ProtocolClient`]: its name, what it supports, and the
/// protocol's settings for it. [`OpenAiCompatModel`](super::OpenAiCompatModel),
/// [`AnthropicModel`](super::AnthropicModel), [`GeminiModel`](super::GeminiModel)
/// and [`OpenAiResponsesModel`](super::OpenAiResponsesModel) are this type.
#[derive(Debug, Clone)]
pub struct ProtocolModel<P, S = ()> {
    pub(crate) client: ProtocolClient<P, S>,
    pub(crate) name: String,
    pub(crate) capabilities: Capabilities,
    /// Set by the user: not replaced by what the server says of itself.
    pub(crate) declared: bool,
    pub(crate) settings: P,
}

impl<P, S> ProtocolModel<P, S> {
    /// Declares what the model supports (by default: what the provider's
    /// table says, or what the server says of itself, or unknown).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self.declared = true;
        self
    }
}

/// Checks and sends `request`: the answer's head, its body unread.
async fn post<'m, P: Protocol>(
    m: &'m ProtocolModel<P, P::Client>,
    request: &ChatRequest,
    stream: bool,
) -> Result<Sent<'m>> {
    P::check(m, request)?;
    if let Some(out) = &request.media_output {
        let kind = format!("{:?} output", out.kind()).to_lowercase();
        if !P::MEDIA_OUTPUT.contains(&out.kind()) {
            return Err(crate::Error::unsupported(
                m.name.clone(),
                kind,
                "this provider's API in typecall does not make it: use one that does",
            ));
        }
        if stream {
            // Streamed media come in pieces typecall does not join yet.
            return Err(crate::Error::unsupported(
                m.name.clone(),
                format!("streamed {kind}"),
                "ask for media with a blocking call (chat, not stream)",
            ));
        }
    }
    P::prepare(m).await;
    check_request(&m.name, &P::capabilities(m), request)?;
    let endpoint = &m.client.inner.endpoint;
    let body = m
        .settings
        .body(&m.name, &m.client.inner.state, request, stream)?;
    let url = format!("{}{}", endpoint.base_url, m.settings.path(&m.name, stream));
    let extra: Vec<(String, String)> = P::extra_header(m, stream)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into_iter()
        .collect();
    let extras = P::body_extras(m, request);
    let sent = if extras.is_empty() {
        endpoint.post(url, &body, &m.name, &extra).await
    } else {
        let body = serde_json::to_value(&body)
            .map_err(|e| crate::Error::config(format!("the request cannot be written: {e}")))?;
        endpoint
            .post(url, &extras.add_to(body), &m.name, &extra)
            .await
    };
    sent.map_err(|e| (endpoint.typed_error)(e, &m.name))
}

/// A blocking call of `m`.
pub(crate) async fn chat<P: Protocol>(
    m: &ProtocolModel<P, P::Client>,
    request: &ChatRequest,
) -> Result<ChatResponse> {
    let sent = post(m, request, false).await?;
    sent.read(|text, limits, head| m.settings.read(text, &m.name, request, limits, head))
        .await
}

/// A streamed call of `m`.
pub(crate) async fn stream<P: Protocol>(
    m: &ProtocolModel<P, P::Client>,
    request: &ChatRequest,
) -> Result<ChatStream> {
    let sent = post(m, request, true).await?;
    let head = sent.head();
    let decoder = m
        .settings
        .decoder(&m.name, request, head, sent.key.cloned(), &sent.http.limits);
    Ok(sent.stream(decoder, super::record_usage))
}

impl<P: Protocol<Client = S>, S: Clone + Send + Sync + 'static> Model for ProtocolModel<P, S> {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        P::capabilities(self)
    }
    fn discover(&self) -> BoxFuture<'_, ()> {
        P::prepare(self)
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span(self.client.inner.endpoint.provider, &self.name, false);
        Box::pin(chat(self, request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span(self.client.inner.endpoint.provider, &self.name, true);
        Box::pin(stream(self, request).instrument(span))
    }
}

/// A whole streamed answer of protocol `p` (its SSE bytes, recorded) read
/// into the [`ChatResponse`] a blocking call would give.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn read_whole_stream<P: Protocol>(p: &P, body: &[u8]) -> Result<ChatResponse> {
    use super::protocol::AnswerHead;
    let head = AnswerHead {
        status: 200,
        ..AnswerHead::default()
    };
    let decoder = p.decoder(
        "",
        &ChatRequest::default(),
        head,
        None,
        &super::Limits::default(),
    );
    super::streaming::decode_whole(decoder, body)
}

/// Errors as they are (a provider that types none of its own).
pub(crate) fn as_is(e: Error, _model: &str) -> Error {
    e
}

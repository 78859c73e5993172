//! One client and one model type for every protocol a provider speaks
//! natively: the builders, `list_models`, the span, sending with retries and
//! reading blocking or streamed answers are written here once; a protocol
//! ([`Protocol`](super::protocol::Protocol)) says only where a request goes, how it is written and how
//! its answer is read. [`Anthropic`](super::Anthropic),
//! [`Gemini`](super::Gemini) and [`OpenAiResponses`](super::OpenAiResponses)
//! are [`ProtocolClient`]s of their protocols.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tracing::Instrument;

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
/// which key and headers, through which HTTP client. Cheap to clone.
/// [`Anthropic`](super::Anthropic), [`Gemini`](super::Gemini) and
/// [`OpenAiResponses`](super::OpenAiResponses) are this type.
pub struct ProtocolClient<P> {
    pub(crate) inner: Arc<Endpoint>,
    protocol: PhantomData<fn() -> P>,
}

impl<P> Clone for ProtocolClient<P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            protocol: PhantomData,
        }
    }
}

impl<P> fmt::Debug for ProtocolClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolClient")
            .field("provider", &self.inner.provider)
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.key)
            .finish_non_exhaustive()
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
        Self {
            inner: Arc::new(endpoint),
            protocol: PhantomData,
        }
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
    /// The provider's error ([`ErrorKind::Auth`](crate::ErrorKind::Auth) for
    /// a bad key), or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for
    /// an answer that is not a model list.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let url = format!("{}{}", self.inner.base_url, self.inner.models_path);
        self.inner
            .list_models(&url)
            .await
            .map_err(|e| (self.inner.typed_error)(e, ""))
    }

    /// A model of this client with these protocol settings.
    pub(crate) fn model_with(
        &self,
        name: String,
        capabilities: Capabilities,
        settings: P,
    ) -> ProtocolModel<P> {
        ProtocolModel {
            client: self.clone(),
            name,
            capabilities,
            settings,
        }
    }
}

/// A model of a [`ProtocolClient`]: its name, what it supports, and the
/// protocol's settings for it. [`AnthropicModel`](super::AnthropicModel),
/// [`GeminiModel`](super::GeminiModel) and
/// [`OpenAiResponsesModel`](super::OpenAiResponsesModel) are this type.
#[derive(Debug, Clone)]
pub struct ProtocolModel<P> {
    pub(crate) client: ProtocolClient<P>,
    pub(crate) name: String,
    pub(crate) capabilities: Capabilities,
    pub(crate) settings: P,
}

impl<P> ProtocolModel<P> {
    /// Declares what the model supports.
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }
}

/// Checks and sends `request`: the answer's head, its body unread.
async fn post<'m, P: Protocol>(
    m: &'m ProtocolModel<P>,
    request: &ChatRequest,
    stream: bool,
) -> Result<Sent<'m>> {
    check_request(&m.name, &m.capabilities, request)?;
    let endpoint = &m.client.inner;
    let body = m.settings.body(&m.name, request, stream)?;
    let url = format!("{}{}", endpoint.base_url, m.settings.path(&m.name, stream));
    endpoint
        .post(url, &body, &m.name)
        .await
        .map_err(|e| (endpoint.typed_error)(e, &m.name))
}

async fn chat<P: Protocol>(m: &ProtocolModel<P>, request: &ChatRequest) -> Result<ChatResponse> {
    let sent = post(m, request, false).await?;
    sent.read(|text, limits| m.settings.read(text, &m.name, limits))
        .await
}

async fn stream<P: Protocol>(m: &ProtocolModel<P>, request: &ChatRequest) -> Result<ChatStream> {
    let sent = post(m, request, true).await?;
    let decoder = m.settings.decoder(
        &m.name,
        sent.resp.rate_limits(),
        sent.key.cloned(),
        &sent.http.limits,
    );
    Ok(sent.stream(decoder, super::record_usage))
}

impl<P: Protocol> Model for ProtocolModel<P> {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span(self.client.inner.provider, &self.name, false);
        Box::pin(chat(self, request).instrument(span))
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        let span = super::chat_span(self.client.inner.provider, &self.name, true);
        Box::pin(stream(self, request).instrument(span))
    }
}

/// A whole streamed answer of protocol `p` (its SSE bytes, recorded) read
/// into the [`ChatResponse`] a blocking call would give.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn read_whole_stream<P: Protocol>(p: &P, body: &[u8]) -> Result<ChatResponse> {
    let decoder = p.decoder(
        "",
        crate::chat::RateLimits::default(),
        None,
        &super::Limits::default(),
    );
    super::streaming::decode_whole(decoder, body)
}

/// Errors as they are (a provider that types none of its own).
pub(crate) fn as_is(e: Error, _model: &str) -> Error {
    e
}

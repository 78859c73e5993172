//! OpenAI's Responses API (`POST /v1/responses`): input items, function
//! calls by `call_id`, reasoning carried across turns (by
//! `previous_response_id` when the server stores responses, as encrypted
//! reasoning items when it does not), `text.format` structured output, web
//! search, image and PDF input, and its semantic stream events.

mod read;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel, Provider};
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, ErrorKind, Result};

#[cfg(any(test, feature = "testing"))]
pub use read::parse_response;

static PROVIDER: Provider = Provider {
    name: "openai",
    base_url: "https://api.openai.com/v1",
    key_header: None,
    models_path: "/models",
    headers: &[],
    key_var: "OPENAI_API_KEY",
    url_var: "OPENAI_BASE_URL",
    key_how: "create a key at platform.openai.com and export it",
    typed_error: model_error,
};

/// The provider name on the [`ProviderState`](crate::chat::ProviderState)s
/// this protocol writes.
const STATE_NAME: &str = "openai_responses";

/// Names the model in an error that did not know it.
fn model_error(e: Error, model: &str) -> Error {
    if e.kind() == ErrorKind::ModelNotFound {
        e.into_model_not_found(model)
    } else {
        e
    }
}

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
pub type OpenAiResponses = ProtocolClient<ResponsesApi>;

/// A model of an [`OpenAiResponses`] client.
pub type OpenAiResponsesModel = ProtocolModel<ResponsesApi>;

/// OpenAI's Responses API (`POST /responses`), as a model's settings: whether
/// the server stores responses, a reasoning summary, the service tier.
#[derive(Debug, Clone)]
pub struct ResponsesApi {
    options: write::Options,
}

impl OpenAiResponses {
    /// A client for `https://api.openai.com/v1` with this key (sent as
    /// `Authorization: Bearer`).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self::with_key(&PROVIDER, api_key)
    }

    /// A client with the key from `OPENAI_API_KEY` (and the base URL from
    /// `OPENAI_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        Self::from_env_of(&PROVIDER)
    }

    /// A model: responses stored by the server (so later turns refer to them
    /// by id), no reasoning summary asked for.
    pub fn model(&self, name: impl Into<String>) -> OpenAiResponsesModel {
        let name = name.into();
        let caps = capabilities(&name);
        self.model_with(name, caps, ResponsesApi::default())
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

impl OpenAiResponsesModel {
    /// Whether the server keeps responses (`store`, on by default). When it
    /// does, a later turn names the earlier response (`previous_response_id`)
    /// instead of sending the conversation and reasoning again; when it does
    /// not, encrypted reasoning items travel in the request.
    pub fn store(mut self, yes: bool) -> Self {
        self.settings.options.store = yes;
        self
    }

    /// Asks for a summary of the model's reasoning (`reasoning.summary:
    /// "auto"`), returned in [`ChatResponse::reasoning`].
    pub fn reasoning_summary(mut self, yes: bool) -> Self {
        self.settings.options.reasoning_summary = yes;
        self
    }

    /// Sets the service tier (`"flex"`, `"priority"`, …).
    pub fn service_tier(mut self, tier: impl Into<String>) -> Self {
        self.settings.options.service_tier = Some(tier.into());
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> serde_json::Value {
        let body = write::request_body(&self.name, &self.settings.options, request, stream);
        serde_json::to_value(body).unwrap_or_default()
    }
}

impl Default for ResponsesApi {
    /// Responses stored by the server, no reasoning summary, the default tier.
    fn default() -> Self {
        Self {
            options: write::Options {
                store: true,
                reasoning_summary: false,
                service_tier: None,
            },
        }
    }
}

impl Protocol for ResponsesApi {
    type Decoder = read::StreamDecoder;
    type Client = ();
    type Body<'a> = write::Request<'a>;
    fn path(&self, _model: &str, _stream: bool) -> String {
        "/responses".into()
    }
    fn body<'a>(
        &'a self,
        model: &'a str,
        _client: &'a (),
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<write::Request<'a>> {
        Ok(write::request_body(model, &self.options, request, stream))
    }
    fn read(
        &self,
        text: &str,
        _model: &str,
        _request: &ChatRequest,
        limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_response_within(text, limits)
    }
    fn decoder(
        &self,
        model: &str,
        _request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self::Decoder {
        read::stream_decoder(head.rate_limits, model.to_owned(), key, limits)
    }
}

/// Reads a whole streamed Responses answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the provider's error for a
/// failed response or an `error` event, [`ErrorKind::Connection`](crate::ErrorKind::Connection) for a stream
/// that ends early.
#[cfg(any(test, feature = "testing"))]
pub fn parse_response_stream(body: &[u8]) -> Result<ChatResponse> {
    super::client::read_whole_stream(&ResponsesApi::default(), body)
}

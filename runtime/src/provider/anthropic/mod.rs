//! Anthropic's Messages API (`POST /v1/messages`): Claude models, blocking and
//! streaming, with tools, thinking, structured output, documents with
//! citations, image and PDF input, and Anthropic's own web tools.

mod read;
mod storage;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel, Provider};
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, ErrorKind, Result};

#[cfg(any(test, feature = "testing"))]
pub use read::parse_message;

/// The API version typecall speaks (`anthropic-version`).
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

static PROVIDER: Provider = Provider {
    name: "anthropic",
    base_url: "https://api.anthropic.com/v1",
    key_header: Some("x-api-key"),
    models_path: "/models?limit=1000",
    headers: &[("anthropic-version", ANTHROPIC_VERSION)],
    key_var: "ANTHROPIC_API_KEY",
    url_var: "ANTHROPIC_BASE_URL",
    key_how: "create a key at console.anthropic.com and export it",
    typed_error: model_not_found,
};

/// The provider name on the [`ProviderState`](crate::chat::ProviderState)s
/// this protocol writes.
const STATE_NAME: &str = "anthropic";

/// A 404 about the model (`"model: …"`) as [`ErrorKind::ModelNotFound`].
fn model_not_found(e: Error, model: &str) -> Error {
    let about_the_model = e.kind() == ErrorKind::BadRequest
        && e.api_error().is_some_and(|api| {
            api.status == 404
                && (api.message.starts_with("model:")
                    || api.kind.as_deref() == Some("not_found_error"))
        });
    if about_the_model {
        e.into_model_not_found(model)
    } else {
        e
    }
}

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
pub type Anthropic = ProtocolClient<MessagesApi>;

/// A Claude model of an [`Anthropic`] client.
pub type AnthropicModel = ProtocolModel<MessagesApi>;

/// Anthropic's Messages API (`POST /messages`), as a Claude model's settings:
/// the most tokens per answer and whether it thinks.
#[derive(Debug, Clone)]
pub struct MessagesApi {
    max_tokens: u32,
    thinking: AnthropicThinking,
}

impl Anthropic {
    /// A client for `https://api.anthropic.com/v1` with this key (sent as
    /// `x-api-key`, never in a URL).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self::with_key(&PROVIDER, api_key)
    }

    /// A client with the key from `ANTHROPIC_API_KEY` (and the base URL from
    /// `ANTHROPIC_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        Self::from_env_of(&PROVIDER)
    }

    /// A model: thinking off, at most the model's own maximum tokens per
    /// answer unless a request says otherwise.
    pub fn model(&self, name: impl Into<String>) -> AnthropicModel {
        let name = name.into();
        let settings = MessagesApi {
            max_tokens: default_max_tokens(&name),
            thinking: AnthropicThinking::Disabled,
        };
        let caps = capabilities(&name, AnthropicThinking::Disabled);
        self.model_with(name, caps, settings)
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

impl AnthropicModel {
    /// Sets whether the model thinks (off by default). Thinking comes back in
    /// [`ChatResponse::reasoning`](crate::chat::ChatResponse::reasoning), and
    /// its signed blocks go back to Anthropic unchanged on later turns
    /// (through [`ChatResponse::provider_state`](crate::chat::ChatResponse::provider_state)).
    pub fn thinking(mut self, thinking: AnthropicThinking) -> Self {
        self.settings.thinking = thinking;
        self.capabilities = capabilities(&self.name, thinking);
        self
    }

    /// Sets the most tokens per answer when a request does not say (by
    /// default the most the model can write, e.g. 64 000 for Claude Haiku 4.5).
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.settings.max_tokens = n;
        self
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> serde_json::Value {
        let body = write::request_body(&self.settings.wire_model(&self.name), request, stream);
        serde_json::to_value(body).unwrap_or_default()
    }
}

impl MessagesApi {
    fn wire_model<'a>(&self, name: &'a str) -> write::WireModel<'a> {
        write::WireModel {
            name,
            max_tokens: self.max_tokens,
            thinking: self.thinking,
        }
    }
}

impl Protocol for MessagesApi {
    type Decoder = read::StreamDecoder;
    type Client = ();
    type Body<'a> = write::Request<'a>;
    fn path(&self, _model: &str, _stream: bool) -> String {
        "/messages".into()
    }
    fn body<'a>(
        &'a self,
        model: &'a str,
        _client: &'a (),
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<write::Request<'a>> {
        Ok(write::request_body(
            &self.wire_model(model),
            request,
            stream,
        ))
    }
    fn read(
        &self,
        text: &str,
        _model: &str,
        _request: &ChatRequest,
        limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_message_within(text, limits)
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

/// Reads a whole streamed Messages answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the provider's error for an
/// `error` event, [`ErrorKind::Connection`](crate::ErrorKind::Connection) for a stream that ends early.
#[cfg(any(test, feature = "testing"))]
pub fn parse_message_stream(body: &[u8]) -> Result<ChatResponse> {
    let settings = MessagesApi {
        max_tokens: 0,
        thinking: AnthropicThinking::Disabled,
    };
    super::client::read_whole_stream(&settings, body)
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

//! What a wire format is to the one client ([`ProtocolClient`](super::ProtocolClient)):
//! where a request goes, how it is written, how its answer is read, and what
//! a client of it keeps or does besides.

use super::client::ProtocolModel;
use super::http::ApiKey;
use super::streaming::Decode;
use super::{BoxFuture, Capabilities, Limits};
use crate::chat::{ChatRequest, ChatResponse, MediaKind, RateLimits};
use crate::error::Result;

/// What the head of an answer told: its status, the rate limits its
/// headers gave, and the server's id for the inference (Cerebras's
/// `inference-id` header).
#[derive(Debug, Default)]
pub(crate) struct AnswerHead {
    pub status: u16,
    pub rate_limits: RateLimits,
    pub inference_id: Option<String>,
}

/// A wire format: where a model's requests go, how they are written, and how
/// their answers (blocking or streamed) are read. Implemented by each
/// protocol's settings type (what a model of it keeps besides its name and
/// capabilities). The hooks with defaults are what chat completions does
/// besides: ask the server what it is before the first request, and take
/// its capabilities from what it said.
pub(crate) trait Protocol: Sized + Send + Sync + 'static {
    /// Reads a streamed answer.
    type Decoder: Decode;
    /// What a client of this protocol keeps besides its endpoint, shared by
    /// its clones and models (`()` for most).
    type Client: Clone + Send + Sync + 'static;
    /// A request's body, serialized as it is sent.
    type Body<'a>: serde::Serialize + Send + Sync
    where
        Self: 'a;
    /// The media this wire format can ask a model to make and read back
    /// from a blocking answer (none by default): a request for others, or
    /// for media in a stream, is refused before sending, never sent without
    /// them.
    const MEDIA_OUTPUT: &'static [MediaKind] = &[];
    /// The path after the base URL a request for `model` goes to.
    fn path(&self, model: &str, stream: bool) -> String;
    /// The body of `request` for `model`.
    fn body<'a>(
        &'a self,
        model: &'a str,
        client: &'a Self::Client,
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<Self::Body<'a>>;
    /// Reads a blocking answer's body to `request` (`head`: for an error
    /// reported in it).
    fn read(
        &self,
        text: &str,
        model: &str,
        request: &ChatRequest,
        limits: &Limits,
        head: &AnswerHead,
    ) -> Result<ChatResponse>;
    /// A decoder for a streamed answer to `request` whose head said `head`.
    fn decoder(
        &self,
        model: &str,
        request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self::Decoder;

    /// Refuses a request the protocol cannot write, before anything is asked
    /// or sent.
    fn check(_m: &ProtocolModel<Self, Self::Client>, _request: &ChatRequest) -> Result<()> {
        Ok(())
    }
    /// Done once before the first request (chat completions asks the server
    /// what it is); [`Model::discover`](super::Model::discover).
    fn prepare(_m: &ProtocolModel<Self, Self::Client>) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
    /// What the model supports now.
    fn capabilities(m: &ProtocolModel<Self, Self::Client>) -> Capabilities {
        m.capabilities.clone()
    }
    /// A header this request needs besides the client's.
    fn extra_header(
        _m: &ProtocolModel<Self, Self::Client>,
        _stream: bool,
    ) -> Option<(&'static str, &'static str)> {
        None
    }
    /// What this request needs in its body besides what [`Protocol::body`]
    /// writes: what only the server found (by [`Protocol::prepare`]) takes.
    fn body_extras(_m: &ProtocolModel<Self, Self::Client>, _request: &ChatRequest) -> BodyExtras {
        BodyExtras::default()
    }
}

/// What a request's body gets besides what [`Protocol::body`] writes
/// ([`Protocol::body_extras`]).
#[derive(Debug, Default)]
pub(crate) struct BodyExtras {
    /// A field added at the body's top level.
    pub field: Option<(&'static str, serde_json::Value)>,
    /// A message added after the conversation's last, in the wire's form.
    pub last_message: Option<serde_json::Value>,
}

impl BodyExtras {
    /// Whether there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.field.is_none() && self.last_message.is_none()
    }

    /// `body` with these added: the field at its top level, the message at
    /// the end of its `messages`.
    pub fn add_to(self, mut body: serde_json::Value) -> serde_json::Value {
        if let Some(top) = body.as_object_mut() {
            if let Some((name, value)) = self.field {
                top.insert(name.to_owned(), value);
            }
            if let Some(message) = self.last_message
                && let Some(messages) = top.get_mut("messages").and_then(|m| m.as_array_mut())
            {
                messages.push(message);
            }
        }
        body
    }
}

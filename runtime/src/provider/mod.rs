//! Model providers: the only place that knows a wire format.
//!
//! A [`Model`] answers a [`ChatRequest`] blocking ([`Model::chat`]) or as a
//! stream of [`StreamEvent`]s ([`Model::stream`]). [`Cerebras`] and
//! [`OpenAiCompat`] (llama.cpp's `llama-server`, vLLM, Ollama, OpenAI, Groq,
//! OpenRouter, …) give models.

pub(crate) mod anthropic;
mod bfl;
mod capabilities;
mod client;
pub(crate) mod cloudflare;
pub(crate) mod cohere;
mod discovery;
mod endpoint;
pub(crate) mod gemini;
mod http;
mod image_model;
pub(crate) mod json;
mod lenient;
pub(crate) mod ollama;
pub(crate) mod openai_compat;
pub(crate) mod openai_responses;
mod pollinations;
mod protocol;
#[cfg(test)]
mod request_fixture;
pub(crate) mod sse;
mod storage;
pub(crate) mod streaming;
mod writing;

use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;
use futures_util::StreamExt;

use crate::chat::{
    ChatRequest, ChatResponse, ContentPart, MediaKind, Message, ResponseFormat, ServerTool,
    StreamEvent, ToolChoice,
};
use crate::error::{Error, Result};

pub use anthropic::{ANTHROPIC_VERSION, Anthropic, AnthropicModel, AnthropicThinking, MessagesApi};
pub use bfl::{Bfl, BflModel};
pub use capabilities::{Capabilities, Support, Thinking};
pub use client::{ProtocolClient, ProtocolModel};
pub use cloudflare::{Cloudflare, CloudflareModel, WorkersAiApi};
pub use cohere::{Cohere, CohereChatApi, CohereModel};
pub use discovery::ServerKind;
pub use gemini::{Gemini, GeminiModel, GenerateContentApi};
pub use http::{ApiKey, Exchange, ExchangeObserver, Limits, RetryPolicy};
#[cfg(feature = "mcp")]
pub(crate) use http::{read_capped, tls_client_builder};
pub use ollama::{Ollama, OllamaChatApi, OllamaModel};
pub use openai_compat::Vendor;
pub use openai_compat::{Cerebras, CerebrasModel};
pub use openai_compat::{
    ChatCompletionsApi, ChatCompletionsClient, ModelInfo, OpenAiCompat, OpenAiCompatModel,
};
pub use openai_responses::{OpenAiResponses, OpenAiResponsesModel, ResponsesApi};
pub use pollinations::{PollinationsImageModel, PollinationsImages};
pub use storage::{
    Batch, BatchCounts, BatchFailure, BatchResult, BatchStatus, CachedPrompt, StoredFile,
};

use crate::future::BoxFuture;

/// A streamed answer: events, ending with [`StreamEvent::Done`] (or an error).
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent>> + Send>>;

/// A model that answers chat requests.
pub trait Model: Send + Sync {
    /// The model's name, as the provider knows it.
    fn name(&self) -> &str;
    /// What the model supports.
    fn capabilities(&self) -> Capabilities;
    /// Answers a request in one piece.
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>>;
    /// Answers a request as a stream of events. Dropping the stream stops it.
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>>;
    /// Asks the server what it is and supports, where it can say (once; an
    /// [`OpenAiCompat`] model asks llama.cpp, vLLM, Ollama or LM Studio), so
    /// that [`Model::capabilities`] tells what the server said. Agents call
    /// it before a run; a model that has nothing to ask does nothing.
    fn discover(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

impl<M: Model + ?Sized> Model for Arc<M> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        (**self).chat(request)
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        (**self).stream(request)
    }
    fn discover(&self) -> BoxFuture<'_, ()> {
        (**self).discover()
    }
}

impl<M: Model + ?Sized> Model for &M {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        (**self).chat(request)
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        (**self).stream(request)
    }
    fn discover(&self) -> BoxFuture<'_, ()> {
        (**self).discover()
    }
}

/// The span of one chat call (OpenTelemetry's `gen_ai` fields; the answer's
/// are filled in by [`record_usage`]).
pub(crate) fn chat_span(system: &'static str, model: &str, stream: bool) -> tracing::Span {
    tracing::info_span!(
        "chat",
        otel.name = %format!("chat {model}"),
        gen_ai.operation.name = "chat",
        gen_ai.system = system,
        gen_ai.request.model = %model,
        gen_ai.request.stream = stream,
        gen_ai.response.id = tracing::field::Empty,
        gen_ai.response.finish_reasons = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
    )
}

/// Records an answer's id, finish reason and usage on the current span.
pub(crate) fn record_usage(r: &ChatResponse) {
    let span = tracing::Span::current();
    span.record("gen_ai.response.id", r.id.as_str());
    span.record(
        "gen_ai.response.finish_reasons",
        tracing::field::debug(&r.finish_reason),
    );
    span.record("gen_ai.usage.input_tokens", r.usage.prompt_tokens);
    span.record("gen_ai.usage.output_tokens", r.usage.completion_tokens);
}

/// A whole answer as the stream of events a streamed request would give (for
/// answers that could not be streamed, and for scripted models).
pub(crate) fn replay_as_stream(response: ChatResponse) -> ChatStream {
    Box::pin(futures_util::stream::iter(
        crate::chat::events_of(response).into_iter().map(Ok),
    ))
}

/// Drains a stream into the final [`ChatResponse`].
///
/// # Errors
/// The stream's error, or [`ErrorKind::Connection`](crate::ErrorKind::Connection) if it ended without
/// [`StreamEvent::Done`].
pub async fn collect(mut stream: ChatStream) -> Result<ChatResponse> {
    while let Some(event) = stream.next().await {
        if let StreamEvent::Done(response) = event? {
            return Ok(*response);
        }
    }
    Err(Error::connection(
        "the stream ended before the answer was complete",
    ))
}

/// Checks a request before it is sent: the conversation (as Cerebras's version
/// patch 2 does) and every option against what the model supports.
///
/// # Errors
/// [`ErrorKind::Conversation`](crate::ErrorKind::Conversation) or [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), naming what to change.
pub fn check_request(model: &str, caps: &Capabilities, req: &ChatRequest) -> Result<()> {
    req.check_conversation()?;
    let unsupported =
        |feature: &str, hint: &str| Error::unsupported(model.to_owned(), feature, hint);
    let structured = !matches!(req.response_format, ResponseFormat::Text);
    let checks: [(bool, Support, &str, &str); 10] = [
        (
            matches!(req.response_format, ResponseFormat::JsonObject),
            caps.json_mode,
            "JSON mode",
            "use a JSON schema or put the format in the prompt",
        ),
        (
            matches!(req.response_format, ResponseFormat::JsonSchema { .. }),
            caps.json_schema,
            "JSON Schema output",
            "use JSON mode or a forced tool",
        ),
        (
            !req.tools.is_empty(),
            caps.tools,
            "tool calling",
            "describe the tools in the prompt and ask for JSON",
        ),
        (
            !req.tools.is_empty() && structured,
            caps.tools_with_response_format,
            "tools together with a response format",
            "end with a final-answer tool, or ask for the format in a last turn without tools",
        ),
        (
            req.tool_choice == Some(ToolChoice::Required),
            caps.tool_choice_required,
            "tool_choice \"required\"",
            "use \"auto\"",
        ),
        (req.seed.is_some(), caps.seed, "seed", "leave the seed out"),
        (
            req.max_tokens.is_some(),
            caps.max_tokens,
            "max tokens",
            "leave max_tokens out",
        ),
        (
            !req.stop.is_empty(),
            caps.stop,
            "stop sequences",
            "cut the text on the client",
        ),
        (
            req.logprobs,
            caps.logprobs,
            "logprobs",
            "leave logprobs out",
        ),
        (
            req.reasoning_effort.is_some(),
            caps.reasoning_effort,
            "reasoning_effort",
            "leave it out; only gpt-oss takes it",
        ),
    ];
    for (used, support, feature, hint) in checks {
        if used && support == Support::No {
            return Err(unsupported(feature, hint));
        }
    }
    for m in &req.messages {
        let Message::User { content } = m else {
            continue;
        };
        for part in content {
            if let ContentPart::Document(d) = part {
                if d.citations && caps.citations == Support::No {
                    return Err(unsupported(
                        "citations",
                        "send the document as text, without asking for citations",
                    ));
                }
                continue;
            }
            let Some(media) = part.as_media() else {
                continue;
            };
            let (support, feature, hint) = match media.kind() {
                MediaKind::Image => (
                    caps.images,
                    "image input",
                    "use a model that takes images (e.g. gemma-4-31b)",
                ),
                MediaKind::Pdf => (
                    caps.pdf,
                    "PDF input",
                    "extract the PDF's text and send that, or use a provider that reads PDFs",
                ),
                MediaKind::Audio => (
                    caps.audio,
                    "audio input",
                    "transcribe it first, or use a model that hears audio (Gemini)",
                ),
                MediaKind::Video => (
                    caps.video,
                    "video input",
                    "use a model that watches video (Gemini)",
                ),
                _ => (
                    Support::No,
                    "this media type",
                    "send images, PDFs, audio or video",
                ),
            };
            if support == Support::No {
                return Err(unsupported(feature, hint));
            }
        }
    }
    if let Some(out) = &req.media_output {
        let (support, feature) = match out.kind() {
            MediaKind::Image => (caps.image_output, "image output"),
            _ => (caps.speech_output, "speech output"),
        };
        if support == Support::No {
            return Err(unsupported(
                feature,
                "use a model that makes it (an image or text-to-speech model)",
            ));
        }
    }
    for tool in &req.server_tools {
        let (support, feature) = match tool {
            ServerTool::WebSearch { .. } => (caps.web_search, "a provider-side web search"),
            ServerTool::WebFetch { .. } => (caps.web_fetch, "a provider-side web fetch"),
        };
        if support == Support::No {
            return Err(unsupported(
                feature,
                "give the model a #[tool] that searches or fetches instead",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    /// Every recorded response body (JSON answers and streams).
    fn recorded_bodies() -> Vec<String> {
        let dir = std::env::var_os("TYPECALL_RECORDINGS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/recordings")
            });
        let mut bodies = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json")
                    && let Ok(text) = std::fs::read_to_string(&p)
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
                {
                    for i in v["interactions"].as_array().into_iter().flatten() {
                        match &i["response"]["body"] {
                            serde_json::Value::String(s) => bodies.push(s.clone()),
                            serde_json::Value::Null => {}
                            other => bodies.push(other.to_string()),
                        }
                    }
                }
            }
        }
        bodies.sort();
        bodies
    }

    #[test]
    fn fuzz_recorded_bodies() {
        let bodies = recorded_bodies();
        if bodies.is_empty() {
            println!("SKIPPED fuzz_recorded_bodies: no recordings (set TYPECALL_RECORDINGS)");
            return;
        }
        let n = bodies.len();
        let input = (
            0..n,
            proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6),
        );
        fuzz("recorded_bodies", 2000, input, |(which, edits)| {
            let mut bytes = bodies[which].clone().into_bytes();
            for (at, byte, kind) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at % bytes.len();
                match kind {
                    0 => bytes.truncate(at),
                    1 => bytes[at] = byte,
                    _ => bytes.insert(at, byte),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            // Every provider's readers, blocking and streamed, on every body.
            let _ = crate::provider::openai_compat::stream::parse_chat_stream(&bytes);
            let _ = crate::provider::openai_compat::decode::parse_chat_response(&text);
            let _ = crate::provider::anthropic::parse_message_stream(&bytes);
            let _ = crate::provider::anthropic::parse_message(&text);
            let _ = crate::provider::gemini::parse_response_stream(&bytes);
            let _ = crate::provider::gemini::parse_response(&text);
            let _ = crate::provider::openai_responses::parse_response_stream(&bytes);
            let _ = crate::provider::openai_responses::parse_response(&text);
            Ok(())
        });
    }
}

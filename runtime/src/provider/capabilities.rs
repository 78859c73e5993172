//! What a model supports, so that `output` and `agent` can choose how to ask and
//! a request for something unsupported fails before it is sent.

use serde::{Deserialize, Serialize};

/// Whether a feature works with a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Support {
    /// Works.
    Yes,
    /// Accepted, but does not work every time (the scoreboard's 💨).
    Flaky,
    /// Not supported: a request that needs it is an error before sending.
    No,
    /// Not known: the request is sent and the server decides.
    #[default]
    Unknown,
}

impl Support {
    /// Whether it is worth trying (anything but [`Support::No`]).
    pub fn is_usable(self) -> bool {
        self != Support::No
    }
    /// Whether it is known to work reliably.
    pub fn is_reliable(self) -> bool {
        self == Support::Yes
    }
}

/// How a model thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Thinking {
    /// It does not reason before answering.
    #[default]
    Never,
    /// It always reasons.
    Always,
    /// It reasons when the conversation ends with a `/think` user message
    /// (qwen-3-32b).
    OnRequest,
}

/// What a model supports. Defaults come from a table per provider (for
/// Cerebras, the facts of its public scoreboard and the recorded exchanges);
/// models not in the table are [`Capabilities::unknown`]: everything is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `response_format: json_object`.
    pub json_mode: Support,
    /// `response_format: json_schema` with `strict: true`.
    pub json_schema: Support,
    /// `response_format: json_schema` with any JSON Schema, not only the
    /// strict subset: the server compiles it into a grammar that holds the
    /// answer to it while decoding (llama.cpp, vLLM, Ollama).
    pub grammar: Support,
    /// Native tool calling.
    pub tools: Support,
    /// `tool_choice: "required"` is honoured.
    pub tool_choice_required: Support,
    /// Tools (or a JSON schema) together with `stream: true`.
    pub structured_streaming: Support,
    /// `tools` and `response_format` in the same request.
    pub tools_with_response_format: Support,
    /// `seed`.
    pub seed: Support,
    /// `max_completion_tokens`.
    pub max_tokens: Support,
    /// `stop`.
    pub stop: Support,
    /// `logprobs` / `top_logprobs`.
    pub logprobs: Support,
    /// Images in user messages.
    pub images: Support,
    /// Whether it reads PDF documents.
    pub pdf: Support,
    /// Whether it hears audio.
    pub audio: Support,
    /// Whether it watches video.
    pub video: Support,
    /// Whether it cites the documents it is given.
    pub citations: Support,
    /// Whether the provider runs a web search tool for it.
    pub web_search: Support,
    /// Whether the provider runs a web fetch tool for it.
    pub web_fetch: Support,
    /// `reasoning_effort`.
    pub reasoning_effort: Support,
    /// Whether it speaks: audio made on request ([`MediaOutput::Speech`](crate::chat::MediaOutput::Speech)).
    pub speech_output: Support,
    /// Whether it makes images on request ([`MediaOutput::Image`](crate::chat::MediaOutput::Image)).
    pub image_output: Support,
    /// How the model thinks.
    pub thinking: Thinking,
}

impl Capabilities {
    /// Nothing known: every option is sent and the server decides.
    pub const fn unknown() -> Self {
        Self {
            json_mode: Support::Unknown,
            json_schema: Support::Unknown,
            grammar: Support::Unknown,
            tools: Support::Unknown,
            tool_choice_required: Support::Unknown,
            structured_streaming: Support::Unknown,
            tools_with_response_format: Support::Unknown,
            seed: Support::Unknown,
            max_tokens: Support::Unknown,
            stop: Support::Unknown,
            logprobs: Support::Unknown,
            images: Support::Unknown,
            pdf: Support::Unknown,
            audio: Support::Unknown,
            video: Support::Unknown,
            citations: Support::Unknown,
            web_search: Support::Unknown,
            web_fetch: Support::Unknown,
            reasoning_effort: Support::Unknown,
            speech_output: Support::Unknown,
            image_output: Support::Unknown,
            thinking: Thinking::Never,
        }
    }

    /// Everything works (the starting point of a provider's table).
    pub const fn all() -> Self {
        Self {
            json_mode: Support::Yes,
            json_schema: Support::Yes,
            grammar: Support::Yes,
            tools: Support::Yes,
            tool_choice_required: Support::Yes,
            structured_streaming: Support::Yes,
            tools_with_response_format: Support::Yes,
            seed: Support::Yes,
            max_tokens: Support::Yes,
            stop: Support::Yes,
            logprobs: Support::Yes,
            images: Support::Yes,
            pdf: Support::Yes,
            audio: Support::Yes,
            video: Support::Yes,
            citations: Support::Yes,
            web_search: Support::Yes,
            web_fetch: Support::Yes,
            reasoning_effort: Support::No,
            speech_output: Support::No,
            image_output: Support::No,
            thinking: Thinking::Never,
        }
    }
}

impl Capabilities {
    /// llama.cpp's `llama-server` (and the `xllamacpp` wheel), as measured on a
    /// small model: a JSON schema is enforced by a grammar while decoding, JSON
    /// mode is not, and native tool calls depend on the chat template (with a
    /// template lacking tool support they are ignored), so they are flaky.
    pub const fn llama_cpp() -> Self {
        Self {
            json_mode: Support::Flaky,
            json_schema: Support::Yes,
            grammar: Support::Yes,
            tools: Support::Flaky,
            tool_choice_required: Support::Flaky,
            structured_streaming: Support::Yes,
            tools_with_response_format: Support::No,
            seed: Support::Yes,
            max_tokens: Support::Yes,
            stop: Support::Yes,
            logprobs: Support::Yes,
            images: Support::Unknown,
            pdf: Support::Unknown,
            audio: Support::Unknown,
            video: Support::Unknown,
            citations: Support::Unknown,
            web_search: Support::Unknown,
            web_fetch: Support::Unknown,
            reasoning_effort: Support::No,
            speech_output: Support::No,
            image_output: Support::No,
            thinking: Thinking::Never,
        }
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::unknown()
    }
}

//! What comes back: the answer, its tool calls, and everything measured about it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::message::{Message, ProviderState, ToolCall};

/// A model's answer to a [`ChatRequest`](super::ChatRequest), the same whether it
/// was received blocking or assembled from a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The provider's id for the completion.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// The answer text, with any reasoning removed; `None` when there was none.
    pub content: Option<String>,
    /// The reasoning, kept apart from the answer (the `reasoning` field, or a
    /// `<think>…</think>` block at the start of the content).
    pub reasoning: Option<String>,
    /// The tools the model asked to call, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Token counts and timings.
    pub usage: Usage,
    /// Per-token log probabilities, when asked for.
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// The rate limits the provider reported with this answer.
    pub rate_limits: RateLimits,
    /// The provider's `system_fingerprint`.
    pub system_fingerprint: Option<String>,
    /// Where the answer's statements come from: spans of the documents sent
    /// ([`ContentPart::Document`](super::ContentPart::Document)) or web pages
    /// the provider's own tools found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// The calls the provider made to its own tools (web search, web fetch)
    /// while answering; they already ran on its side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tool_calls: Vec<ServerToolCall>,
    /// Media the model made (speech, images), as bytes or where to fetch
    /// them, each with its media type; see [`Media::bytes`](super::Media::bytes)
    /// and [`Media::save`](super::Media::save).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<super::Media>,
    /// What the provider needs back on the next turn (see [`ProviderState`]);
    /// [`ChatResponse::to_message`] keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_state: Option<ProviderState>,
}

/// A span of the answer's sources that the model cited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Citation {
    /// The text cited, as the provider quotes it; empty where the provider
    /// names a source for the answer as a whole (Perplexity's `citations`,
    /// chat completions' `url_citation` annotations).
    pub cited_text: String,
    /// Where it comes from.
    pub source: CitationSource,
}

/// Where a [`Citation`] points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CitationSource {
    /// Characters `start..end` of the document at `index` among the request's
    /// documents.
    Document {
        /// The document's position among the request's documents, from 0.
        index: usize,
        /// Its title, if it had one.
        title: Option<String>,
        /// First character cited.
        start: usize,
        /// One past the last character cited.
        end: usize,
    },
    /// A web page.
    Web {
        /// Its URL.
        url: String,
        /// Its title, if known.
        title: Option<String>,
    },
    /// The result of one of the conversation's tool calls (Cohere cites
    /// them).
    ToolResult {
        /// The id of the call whose result is cited.
        call_id: String,
    },
}

/// A provider-side tool call (web search, web fetch) made while answering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerToolCall {
    /// The provider's id for it.
    pub id: String,
    /// The tool (`web_search`, `web_fetch`).
    pub name: String,
    /// Its input as JSON text (`{"query": …}`, `{"url": …}`).
    pub arguments: String,
    /// The pages it found or fetched.
    pub sources: Vec<WebSource>,
}

/// A web page a provider-side tool found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSource {
    /// Its URL.
    pub url: String,
    /// Its title, if known.
    pub title: Option<String>,
}

impl ServerToolCall {
    /// A web search the provider ran on its own, known by the pages it found
    /// or cited (`None` for no pages).
    pub(crate) fn web_search_found(sources: Vec<WebSource>) -> Option<Self> {
        (!sources.is_empty()).then(|| ServerToolCall {
            id: "0".to_owned(),
            name: "web_search".to_owned(),
            arguments: "{}".to_owned(),
            sources,
        })
    }
}

impl ChatResponse {
    /// Web pages cited with no provider-side call reported came from a
    /// search the provider ran on its own (Xiaomi's web search, OpenAI's
    /// search models in chat completions): shown as one `web_search` call
    /// with the pages cited.
    pub(crate) fn show_search_behind_citations(&mut self) {
        if !self.server_tool_calls.is_empty() {
            return;
        }
        let pages = self
            .citations
            .iter()
            .filter_map(|c| match &c.source {
                CitationSource::Web { url, title } => Some(WebSource {
                    url: url.clone(),
                    title: title.clone(),
                }),
                CitationSource::Document { .. } | CitationSource::ToolResult { .. } => None,
            })
            .collect();
        self.server_tool_calls
            .extend(ServerToolCall::web_search_found(pages));
    }

    /// The answer text (empty when there was none).
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or("")
    }
    /// This answer as an assistant message, to continue the conversation.
    pub fn to_message(&self) -> Message {
        Message::Assistant {
            content: self.content.clone(),
            tool_calls: self.tool_calls.clone(),
            reasoning: self.reasoning.clone(),
            provider_state: self.provider_state.clone(),
        }
    }
}

/// Why the model stopped generating.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// A natural end, or a stop sequence.
    #[default]
    Stop,
    /// The token limit was reached: the answer is cut short.
    Length,
    /// The model asked for tool calls.
    ToolCalls,
    /// A content filter stopped it.
    ContentFilter,
    /// The model tried to call a tool and wrote the call so badly that the
    /// provider could not read it (Gemini's `MALFORMED_FUNCTION_CALL`): no
    /// call and no answer. An agent asks the model to call again.
    MalformedToolCall,
    /// Something else, as the provider named it.
    Other(String),
}

impl FinishReason {
    /// Maps the wire value (`"stop"`, `"length"`, …).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "stop" | "end_turn" | "eos" => FinishReason::Stop,
            "length" | "max_tokens" => FinishReason::Length,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// Token counts and timings of one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated (reasoning included).
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
    /// Tokens spent reasoning, where reported.
    pub reasoning_tokens: Option<u64>,
    /// Prompt tokens served from the provider's cache, where reported.
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache, where reported.
    #[serde(default)]
    pub cache_write_tokens: Option<u64>,
    /// The server's timing breakdown, where it gives one (Cerebras's
    /// `time_info`, Groq's timings in `usage`).
    pub time: Option<TimeInfo>,
    /// The server's id for this inference, where a header gives one apart
    /// from the answer's id (Cerebras's `inference-id`).
    pub inference_id: Option<String>,
}

impl Usage {
    /// Adds another answer's token counts to these (for runs of several
    /// turns). Saturating: counts a server reports near `u64::MAX` stay there.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        self.reasoning_tokens = sum(self.reasoning_tokens, other.reasoning_tokens);
        self.cached_tokens = sum(self.cached_tokens, other.cached_tokens);
        self.cache_write_tokens = sum(self.cache_write_tokens, other.cache_write_tokens);
    }
}

/// A server's timing breakdown of one answer, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeInfo {
    /// Waiting in the queue.
    pub queue_time: f64,
    /// Reading the prompt.
    pub prompt_time: f64,
    /// Generating.
    pub completion_time: f64,
    /// All of it.
    pub total_time: f64,
}

/// The log probability of one generated token, with its alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// Its bytes, where given.
    pub bytes: Option<Vec<u8>>,
    /// The most likely tokens at this position.
    pub top_logprobs: Vec<TopLogprob>,
}

/// An alternative token at a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// Its bytes, where given.
    pub bytes: Option<Vec<u8>>,
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitResource {
    /// Requests.
    Requests,
    /// Tokens.
    Tokens,
    /// Prompt tokens (Anthropic counts them apart).
    InputTokens,
    /// Generated tokens (Anthropic counts them apart).
    OutputTokens,
}

/// The window a rate limit counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitWindow {
    /// A minute.
    Minute,
    /// An hour.
    Hour,
    /// A day.
    Day,
}

/// One rate limit, as a provider's headers reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// What it counts.
    pub resource: RateLimitResource,
    /// Over which window.
    pub window: RateLimitWindow,
    /// The limit.
    pub limit: Option<u64>,
    /// What is left.
    pub remaining: Option<u64>,
    /// When the window resets.
    pub reset: Option<Duration>,
}

/// Every rate limit the provider reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// The limits, one per resource and window present.
    pub limits: Vec<RateLimit>,
}

impl RateLimits {
    /// The limit for this resource and window, added empty when absent.
    pub(crate) fn entry(
        &mut self,
        resource: RateLimitResource,
        window: RateLimitWindow,
    ) -> &mut RateLimit {
        let pos = self
            .limits
            .iter()
            .position(|l| l.resource == resource && l.window == window);
        let idx = match pos {
            Some(i) => i,
            None => {
                self.limits.push(RateLimit {
                    resource,
                    window,
                    limit: None,
                    remaining: None,
                    reset: None,
                });
                self.limits.len() - 1
            }
        };
        // `idx` is in bounds: found above or just pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.limits[idx]
    }

    /// The limit for this resource and window, if reported.
    pub fn get(&self, resource: RateLimitResource, window: RateLimitWindow) -> Option<&RateLimit> {
        self.limits
            .iter()
            .find(|l| l.resource == resource && l.window == window)
    }

    /// Whether no limit was reported.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// How long until an exhausted limit resets: the longest reset among the
    /// limits with nothing remaining, if any.
    pub fn exhausted_reset(&self) -> Option<Duration> {
        self.limits
            .iter()
            .filter(|l| l.remaining == Some(0))
            .filter_map(|l| l.reset)
            .max()
    }
}

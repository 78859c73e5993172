//! What is sent: the conversation, the tools, and the options.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::Message;
use crate::schema::Schema;
use crate::tool::ToolDef;

/// A chat request, independent of any provider.
///
/// ```
/// use typecall::chat::{ChatRequest, Message};
/// let req = ChatRequest::new(vec![Message::user("Say hello.")]).seed(42).max_tokens(16);
/// assert!(req.check_conversation().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolDef>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// The shape of the answer.
    pub response_format: ResponseFormat,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Seed, for reproducible sampling where the provider supports it.
    pub seed: Option<i64>,
    /// The most tokens to generate (`max_completion_tokens` on the wire).
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Whether to return per-token log probabilities.
    pub logprobs: bool,
    /// How many alternatives per token, with `logprobs`.
    pub top_logprobs: Option<u8>,
    /// Reasoning effort, for models that take it (gpt-oss).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Tools the provider runs on its side (web search, web fetch); what
    /// they did comes back in [`ChatResponse::server_tool_calls`](super::ChatResponse::server_tool_calls).
    /// Providers without them refuse the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_tools: Vec<ServerTool>,
    /// Media the model is asked to make (speech, an image); they come back
    /// in [`ChatResponse::media`](super::ChatResponse::media). Providers
    /// that cannot make them refuse the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_output: Option<super::MediaOutput>,
    /// Asks a server that keeps the last prompts it read to start from one
    /// of them instead of reading this prompt afresh (llama.cpp's
    /// `cache_prompt`): for a request that repeats the one before it. Sent
    /// only where the server is known to take it (others cache on their
    /// own, or not at all); `false` leaves it to the server.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reuse_prompt: bool,
    /// The beginning of the answer, already written, for the model to go on
    /// from (a constrained decision's opening fence): sent as a last
    /// assistant message where the server is known to continue one
    /// (llama.cpp), and left out elsewhere, where the model writes its answer
    /// whole. The answer's text is what the model wrote after it. A server
    /// may refuse it (llama.cpp does for a model whose template thinks
    /// first): the agent then asks again without it.
    #[serde(skip)]
    pub(crate) prefill: Option<String>,
}

/// A tool the provider runs on its side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerTool {
    /// Searches the web.
    WebSearch {
        /// The most searches in one answer, if limited.
        max_uses: Option<u32>,
    },
    /// Fetches a web page by URL.
    WebFetch {
        /// The most fetches in one answer, if limited.
        max_uses: Option<u32>,
    },
}

impl ChatRequest {
    /// A request with these messages and default options.
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }
    /// Adds a message.
    pub fn message(mut self, m: Message) -> Self {
        self.messages.push(m);
        self
    }
    /// Adds a tool.
    pub fn tool(mut self, t: ToolDef) -> Self {
        self.tools.push(t);
        self
    }
    /// Sets the tools.
    pub fn tools(mut self, t: Vec<ToolDef>) -> Self {
        self.tools = t;
        self
    }
    /// Sets the tool choice.
    pub fn tool_choice(mut self, c: ToolChoice) -> Self {
        self.tool_choice = Some(c);
        self
    }
    /// Sets `parallel_tool_calls`.
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.parallel_tool_calls = Some(yes);
        self
    }
    /// Sets the response format.
    pub fn response_format(mut self, f: ResponseFormat) -> Self {
        self.response_format = f;
        self
    }
    /// Sets the temperature.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Sets top_p.
    pub fn top_p(mut self, p: f32) -> Self {
        self.top_p = Some(p);
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, s: i64) -> Self {
        self.seed = Some(s);
        self
    }
    /// Sets the most tokens to generate.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Sets the stop sequences.
    pub fn stop<S: Into<String>>(mut self, stop: impl IntoIterator<Item = S>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }
    /// Asks for per-token log probabilities with `top` alternatives each.
    pub fn logprobs(mut self, top: u8) -> Self {
        self.logprobs = true;
        self.top_logprobs = Some(top);
        self
    }
    /// Sets the reasoning effort (gpt-oss).
    pub fn reasoning_effort(mut self, e: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(e);
        self
    }
    /// Lets the provider use one of its own tools (web search, web fetch).
    pub fn server_tool(mut self, t: ServerTool) -> Self {
        self.server_tools.push(t);
        self
    }

    /// Asks the model to make media (see [`MediaOutput`](super::MediaOutput)).
    pub fn media_output(mut self, m: super::MediaOutput) -> Self {
        self.media_output = Some(m);
        self
    }

    /// Lets a server that caches prompts start from a cached one (see
    /// [`ChatRequest::reuse_prompt`](Self#structfield.reuse_prompt)).
    pub fn reuse_prompt(mut self, yes: bool) -> Self {
        self.reuse_prompt = yes;
        self
    }

    /// Checks the conversation the way Cerebras's `X-Cerebras-Version-Patch: 2`
    /// does, so that a mistake is a clear local error instead of a 400: every tool
    /// call is answered right after by its tool message, no tool message answers
    /// nothing, call ids are unique, and `tool_choice` comes only with tools.
    ///
    /// # Errors
    /// The first problem found.
    pub fn check_conversation(&self) -> Result<(), ConversationError> {
        if self.messages.is_empty() {
            return Err(ConversationError::Empty);
        }
        let mut seen_ids = HashSet::new();
        let mut open: Vec<&str> = Vec::new();
        for (i, m) in self.messages.iter().enumerate() {
            match m {
                Message::Tool { tool_call_id, .. } => {
                    match open.iter().position(|id| id == tool_call_id) {
                        Some(p) => {
                            open.remove(p);
                        }
                        None => {
                            return Err(ConversationError::OrphanToolResult {
                                index: i,
                                id: tool_call_id.clone(),
                            });
                        }
                    }
                }
                other => {
                    if let Some(id) = open.first() {
                        return Err(ConversationError::UnansweredToolCall {
                            index: i,
                            id: (*id).to_owned(),
                        });
                    }
                    if let Message::Assistant { tool_calls, .. } = other {
                        for c in tool_calls {
                            if !seen_ids.insert(c.id.as_str()) {
                                return Err(ConversationError::DuplicateCallId {
                                    id: c.id.clone(),
                                });
                            }
                            open.push(&c.id);
                        }
                    }
                }
            }
        }
        if let Some(id) = open.first() {
            return Err(ConversationError::UnansweredToolCall {
                index: self.messages.len(),
                id: (*id).to_owned(),
            });
        }
        if self.tool_choice.is_some() && self.tools.is_empty() {
            return Err(ConversationError::ToolChoiceWithoutTools);
        }
        if let Some(ToolChoice::Tool(name)) = &self.tool_choice
            && !self.tools.iter().any(|t| &t.name == name)
        {
            return Err(ConversationError::UnknownToolChoice {
                name: name.clone(),
                known: self.tools.iter().map(|t| t.name.clone()).collect(),
            });
        }
        let mut names = HashSet::new();
        for t in &self.tools {
            if !names.insert(t.name.as_str()) {
                return Err(ConversationError::DuplicateToolName {
                    name: t.name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// What is wrong with a conversation, found before sending it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConversationError {
    /// No messages at all.
    #[error("the conversation has no messages")]
    Empty,
    /// A tool call with no tool message right after its assistant message.
    #[error(
        "tool call `{id}` is not answered: message {index} should be its tool result \
         (answer every call of an assistant message right after it)"
    )]
    UnansweredToolCall {
        /// Where the answer was expected.
        index: usize,
        /// The call id.
        id: String,
    },
    /// A tool message that answers no open call.
    #[error(
        "message {index} is a tool result for `{id}`, which no assistant message just before \
         asked for"
    )]
    OrphanToolResult {
        /// The message index.
        index: usize,
        /// The call id it names.
        id: String,
    },
    /// Two tool calls with the same id.
    #[error("tool call id `{id}` is used twice; call ids must be unique in a conversation")]
    DuplicateCallId {
        /// The repeated id.
        id: String,
    },
    /// `tool_choice` set with no tools.
    #[error("`tool_choice` is set but the request has no tools")]
    ToolChoiceWithoutTools,
    /// `tool_choice` names a tool that is not in the request.
    #[error("`tool_choice` names `{name}`, which is not one of the tools ({known:?})")]
    UnknownToolChoice {
        /// The name asked for.
        name: String,
        /// The tools of the request.
        known: Vec<String>,
    },
    /// Two tools with the same name.
    #[error("two tools are named `{name}`")]
    DuplicateToolName {
        /// The name.
        name: String,
    },
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Tool(String),
}

/// The shape of the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// Any JSON object (JSON mode).
    JsonObject,
    /// JSON that follows a schema.
    JsonSchema {
        /// A name for the schema.
        name: String,
        /// The schema, as sent.
        schema: Value,
        /// Whether the provider enforces it while decoding.
        strict: bool,
    },
}

impl ResponseFormat {
    /// JSON following `schema`, strict when the schema's dialect is.
    pub fn json_schema(name: impl Into<String>, schema: &Schema) -> Self {
        ResponseFormat::JsonSchema {
            name: name.into(),
            schema: schema.as_json().clone(),
            strict: schema.dialect().is_strict(),
        }
    }
}

/// How hard a reasoning model thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// None at all (OpenAI's `none`, for a reasoning model asked to answer
    /// at once).
    None,
    /// The least (OpenAI's `minimal`).
    Minimal,
    /// Little.
    Low,
    /// Some.
    Medium,
    /// Much.
    High,
}

impl ReasoningEffort {
    /// The wire value (`none`, `minimal`, `low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ToolCall;

    fn call(id: &str) -> ToolCall {
        ToolCall::new(id, "square_root", r#"{"number": 4}"#)
    }

    #[test]
    fn the_conversation_check_follows_version_patch_2() {
        let ok = ChatRequest::new(vec![
            Message::user("hi"),
            Message::assistant_tool_calls(vec![call("a"), call("b")]),
            Message::tool_result(&call("b"), "2"),
            Message::tool_result(&call("a"), "2"),
            Message::assistant("2"),
        ]);
        assert_eq!(ok.check_conversation(), Ok(()));

        let unanswered = ChatRequest::new(vec![
            Message::user("hi"),
            Message::assistant_tool_calls(vec![call("a")]),
            Message::user("and?"),
        ]);
        assert!(matches!(
            unanswered.check_conversation(),
            Err(ConversationError::UnansweredToolCall { index: 2, .. })
        ));
        let orphan = ChatRequest::new(vec![
            Message::user("hi"),
            Message::tool_result(&call("x"), "1"),
        ]);
        assert!(matches!(
            orphan.check_conversation(),
            Err(ConversationError::OrphanToolResult { .. })
        ));
        let dup = ChatRequest::new(vec![
            Message::user("hi"),
            Message::assistant_tool_calls(vec![call("a")]),
            Message::tool_result(&call("a"), "1"),
            Message::assistant_tool_calls(vec![call("a")]),
            Message::tool_result(&call("a"), "1"),
        ]);
        assert!(matches!(
            dup.check_conversation(),
            Err(ConversationError::DuplicateCallId { .. })
        ));
        let choice = ChatRequest::new(vec![Message::user("hi")]).tool_choice(ToolChoice::Required);
        assert_eq!(
            choice.check_conversation(),
            Err(ConversationError::ToolChoiceWithoutTools)
        );
        assert_eq!(
            ChatRequest::default().check_conversation(),
            Err(ConversationError::Empty)
        );
    }
}

//! What happened: the records of an agent run and of an extraction's
//! attempts. Plain data (`Serialize + Deserialize`), at the bottom of the
//! crate, so that results and errors alike can carry them: the facade
//! [`Error`](crate::Error) keeps a [`Run`] or the [`Attempt`]s without naming
//! the layers that made them. Re-exported where users meet them
//! ([`crate::agent`], [`crate::output`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::{FinishReason, Message, RateLimits, ToolCall, Usage};
use crate::tool::ToolError;

/// How the agent asks the model for tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum ToolMode {
    /// The provider's tool calling.
    Native,
    /// The tools shown as text in the system prompt (a `<tools>` list, the
    /// form small models are trained on). The model first writes a few
    /// tokens freely (the *opening*): unless a call's opening is likelier
    /// than words (over the first token's alternatives, where the server
    /// gives them), no tool is called; a call's opening is followed by the
    /// decision, held by the server
    /// while decoding (`response_format: json_schema`) to a list of
    /// `{"name", "arguments"}` calls of those tools, at most
    /// `max_parallel_tools`, empty when none fits (on llama.cpp it starts
    /// from the prompt the opening read). When none was called, the answer
    /// is asked for without the tools. For models whose native tool calling
    /// is unreliable (small models on a local server).
    Constrained,
    /// Constrained where native tool calling is not known to work and the
    /// server holds answers to a schema (any schema through a grammar, as
    /// llama.cpp, vLLM and Ollama do, or the strict subset when the calls fit
    /// it); Native elsewhere. What an `OpenAiCompat` server is, it asks once.
    #[default]
    Auto,
}

/// How the answer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OutputMode {
    /// `response_format: json_schema` with the strict schema: the server
    /// enforces it while decoding.
    Native,
    /// `response_format: json_object`, with the schema in the system prompt.
    JsonMode,
    /// One forced tool whose arguments are `T`.
    Tool,
    /// The schema in the prompt, the JSON parsed out of free text.
    Prompted,
    /// Chosen per model from its capabilities; falls back to the next mode when
    /// the server refuses a mode as unsupported.
    Auto,
}

/// One try at getting the answer: what was asked, what came back, what was wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The mode used.
    pub mode: OutputMode,
    /// The model's raw answer (text, or tool arguments); empty when the request failed.
    pub raw: String,
    /// What was wrong, if anything.
    pub error: Option<String>,
    /// Tokens spent.
    pub usage: Usage,
}

/// Everything that happened in a run. `Serialize + Deserialize`: store it, and
/// resume from its transcript.
///
/// Its `Debug` is a summary (turns, tool calls, tokens, the answer, the time),
/// so an [`ErrorKind::Agent`](crate::ErrorKind::Agent) printed by `main` stays short;
/// `{:#?}` shows every field.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Run {
    /// The whole conversation, system prompt included.
    pub transcript: Vec<Message>,
    /// Each model turn.
    pub turns: Vec<TurnRecord>,
    /// Tokens over all turns (and nested agents).
    pub usage: Usage,
    /// The final answer text, when the run ended with one.
    pub final_text: Option<String>,
    /// The typed final answer (as JSON), for typed runs.
    pub output: Option<Value>,
    /// Runs of agents used as tools.
    pub nested: Vec<NestedRun>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("Run")
                .field("transcript", &self.transcript)
                .field("turns", &self.turns)
                .field("usage", &self.usage)
                .field("final_text", &self.final_text)
                .field("output", &self.output)
                .field("nested", &self.nested)
                .field("elapsed", &self.elapsed)
                .finish();
        }
        let failed = self
            .turns
            .iter()
            .flat_map(|t| &t.tool_calls)
            .filter(|c| c.result.is_err())
            .count();
        f.debug_struct("Run")
            .field("turns", &self.turns.len())
            .field(
                "tool_calls",
                &self.turns.iter().map(|t| t.tool_calls.len()).sum::<usize>(),
            )
            .field("failed_tool_calls", &failed)
            .field("tokens", &self.usage.total_tokens)
            .field("final_text", &self.final_text)
            .field("elapsed", &self.elapsed)
            .finish_non_exhaustive()
    }
}

impl Run {
    /// The final answer text (empty when there was none).
    pub fn text(&self) -> &str {
        self.final_text.as_deref().unwrap_or("")
    }
    /// Tokens over all turns.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }
    /// Each model turn.
    pub fn turns(&self) -> &[TurnRecord] {
        &self.turns
    }
    /// The whole conversation.
    pub fn transcript(&self) -> &[Message] {
        &self.transcript
    }
    /// Every tool call, in order.
    pub fn tool_calls(&self) -> Vec<&ToolCallRecord> {
        self.turns
            .iter()
            .flat_map(|t| t.tool_calls.iter())
            .collect()
    }
}

/// One model turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// Its number, from 0.
    pub turn: u32,
    /// How tools were asked for.
    pub mode: ToolMode,
    /// Tokens.
    pub usage: Usage,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// The rate limits reported.
    pub rate_limits: RateLimits,
    /// The answer text, if any.
    pub text: Option<String>,
    /// The reasoning, if any.
    pub reasoning: Option<String>,
    /// The tool calls it asked for and what they gave.
    pub tool_calls: Vec<ToolCallRecord>,
}

/// A tool call and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The call as it ran (after hooks; `{}` for arguments that were not JSON).
    pub call: ToolCall,
    /// The arguments exactly as the model wrote them.
    pub raw_arguments: String,
    /// What went back to the model.
    pub result: std::result::Result<String, ToolError>,
    /// How long it ran.
    pub duration: Duration,
}

/// The run of an agent used as a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NestedRun {
    /// The tool name it ran under.
    pub tool: String,
    /// Its run.
    pub run: Box<Run>,
}

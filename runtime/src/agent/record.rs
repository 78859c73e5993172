//! The record of a run: what happened, turn by turn, and why a run stopped.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ToolMode;
use crate::chat::{FinishReason, Message, RateLimits, ToolCall, Usage};
use crate::error::Error;
use crate::tool::ToolError;

/// Everything that happened in a run. `Serialize + Deserialize`: store it, and
/// resume from its transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// Why a run stopped without an answer. [`Error::Agent`] carries it with the
/// [`Run`] so far.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentStop {
    /// `max_turns` requests were made.
    #[error("no final answer within {0} turns")]
    MaxTurns(u32),
    /// The token budget is spent.
    #[error("the token budget is spent ({used} of {budget} tokens)")]
    TokenBudget {
        /// Tokens used.
        used: u64,
        /// The budget.
        budget: u64,
    },
    /// The deadline passed.
    #[error("the deadline of {0:?} passed")]
    Deadline(Duration),
    /// A tool kept failing the same way.
    #[error("`{tool}` failed the same way {times} times ({error}); the model is looping")]
    ToolLoop {
        /// The tool.
        tool: String,
        /// The repeated error.
        error: String,
        /// How often.
        times: u32,
    },
    /// The model (or its provider) failed. The provider's error is the
    /// [`source`](std::error::Error::source).
    #[error("the model failed: {0}")]
    Model(#[source] Box<Error>),
}

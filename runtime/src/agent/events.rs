//! What happens during a run, as events for UIs and logs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chat::{FinishReason, RateLimits, Usage};
use crate::record::Run;
use crate::tool::ToolError;

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AgentEvent {
    /// A turn (one model request) began.
    TurnStarted {
        /// The turn's number, from 0.
        turn: u32,
    },
    /// More answer text.
    TextDelta(String),
    /// More reasoning.
    ReasoningDelta(String),
    /// A tool call is starting.
    ToolCallStarted {
        /// The call id.
        id: String,
        /// The tool.
        name: String,
        /// Its arguments, as sent to the tool.
        arguments: String,
    },
    /// A tool call finished.
    ToolCallFinished {
        /// The call id.
        id: String,
        /// The tool.
        name: String,
        /// What went back to the model: the result, or the error.
        result: Result<String, ToolError>,
        /// How long it ran.
        duration: Duration,
    },
    /// A turn ended.
    TurnFinished {
        /// The turn's number.
        turn: u32,
        /// Its tokens.
        usage: Usage,
        /// Why the model stopped.
        finish_reason: FinishReason,
        /// The rate limits reported with the answer.
        rate_limits: RateLimits,
    },
    /// The run ended with an answer.
    Done(Box<Run>),
}

//! What went wrong in a tool call, phrased for the model to act on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::schema::{DecodeError, ValidationIssue};

/// A failed tool call. Its `Display` is the message the model gets back as the
/// tool result, so that it can correct itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ToolError {
    /// The model called a tool that does not exist.
    #[error("there is no tool named `{name}`; the tools are: {}", known.join(", "))]
    UnknownTool {
        /// The name it used.
        name: String,
        /// The tools there are.
        known: Vec<String>,
    },
    /// The arguments were not JSON at all.
    #[error("the arguments for `{tool}` are not valid JSON ({error}); send a JSON object")]
    NotJson {
        /// The tool.
        tool: String,
        /// The parse error.
        error: String,
    },
    /// The arguments broke the tool's schema.
    #[error(
        "invalid arguments for `{tool}`: {}; fix them and call again",
        describe(issues)
    )]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// Each problem, with its JSON pointer.
        issues: Vec<ValidationIssue>,
    },
    /// The tool ran and returned an error.
    #[error("`{tool}` failed: {message}")]
    Failed {
        /// The tool.
        tool: String,
        /// Its error, as text.
        message: String,
    },
    /// The tool panicked (caught: the process and other tools are unaffected).
    #[error("`{tool}` crashed: {message}")]
    Panicked {
        /// The tool.
        tool: String,
        /// The panic message.
        message: String,
    },
    /// The tool took too long.
    #[error("`{tool}` did not finish within {:.1}s", after.as_secs_f64())]
    TimedOut {
        /// The tool.
        tool: String,
        /// The limit.
        after: Duration,
    },
    /// The tool needs a context value the run was not given.
    #[error("`{tool}` needs a `{type_name}` in the run's context; add it with `.context(…)`")]
    MissingContext {
        /// The tool.
        tool: String,
        /// The missing type.
        type_name: String,
    },
    /// A hook refused the call.
    #[error("the call to `{tool}` was denied: {message}")]
    Denied {
        /// The tool.
        tool: String,
        /// Why, for the model.
        message: String,
    },
    /// The call was stopped before it finished (the run's deadline passed).
    #[error("`{tool}` was stopped before it finished: {reason}")]
    Cancelled {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
}

impl ToolError {
    pub(crate) fn invalid_arguments(tool: &str, e: DecodeError) -> Self {
        match e {
            DecodeError::Invalid(errors) => ToolError::InvalidArguments {
                tool: tool.to_owned(),
                issues: errors.issues().to_vec(),
            },
            DecodeError::Deserialize(message) => ToolError::InvalidArguments {
                tool: tool.to_owned(),
                issues: vec![ValidationIssue {
                    pointer: String::new(),
                    message,
                }],
            },
        }
    }

    /// The tool this error is about (the name the model used, for unknown tools).
    pub fn tool(&self) -> &str {
        match self {
            ToolError::UnknownTool { name, .. } => name,
            ToolError::NotJson { tool, .. }
            | ToolError::InvalidArguments { tool, .. }
            | ToolError::Failed { tool, .. }
            | ToolError::Panicked { tool, .. }
            | ToolError::TimedOut { tool, .. }
            | ToolError::MissingContext { tool, .. }
            | ToolError::Denied { tool, .. }
            | ToolError::Cancelled { tool, .. } => tool,
        }
    }
}

fn describe(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

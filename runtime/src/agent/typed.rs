//! The typed final answer of a run: the `final_answer` tool the model calls
//! (or the `final` branch of a constrained step), checked against `T`.

use std::sync::Arc;

use serde_json::Value;

use super::Config;
use crate::error::Result;
use crate::output::decode::{self, AnswerError};
use crate::schema::{Dialect, Schema};
use crate::tool::{Tool, ToolContext, ToolDef, ToolError, ToolResult};

/// The typed final answer of a run: a `final_answer` tool (native mode) or the
/// `final` branch (constrained mode) whose value is checked against `T`.
#[derive(Clone)]
pub(crate) struct Typed {
    pub(crate) schema: &'static Schema,
    pub(crate) check: Arc<dyn Fn(Value) -> std::result::Result<Value, AnswerError> + Send + Sync>,
}

/// The name of the tool that carries a typed final answer.
pub(crate) const FINAL_TOOL: &str = "final_answer";

impl Typed {
    pub(crate) fn of<T: serde::de::DeserializeOwned + schemars::JsonSchema + 'static>()
    -> Result<Self> {
        let schema = crate::schema::schema_for::<T>(Dialect::Strict)?;
        let check = Arc::new(move |wire: Value| {
            let full = schema.from_wire(wire);
            decode::decode_value::<T>(schema, full.clone()).map(|_| full)
        });
        Ok(Self { schema, check })
    }

    /// Adds the `final_answer` tool definition.
    pub(crate) fn install(&self, cfg: &mut Config) -> Result<()> {
        let def = ToolDef::from_schema(
            FINAL_TOOL,
            "Give the final answer: call this once you have it.",
            self.schema,
        );
        cfg.toolbox.add(FinalAnswerTool { def })?;
        Ok(())
    }
}

/// The definition of the typed answer; its calls are taken by the loop, never run.
struct FinalAnswerTool {
    def: ToolDef,
}

impl Tool for FinalAnswerTool {
    fn def(&self) -> &ToolDef {
        &self.def
    }
    fn call<'a>(
        &'a self,
        _args: Value,
        _ctx: &'a ToolContext,
    ) -> crate::future::BoxFuture<'a, ToolResult> {
        Box::pin(async {
            Err(ToolError::Failed {
                tool: FINAL_TOOL.into(),
                message: "handled by the agent".into(),
            })
        })
    }
}

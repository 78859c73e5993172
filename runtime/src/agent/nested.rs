//! An agent as a tool of another agent.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::Agent;
use crate::future::BoxFuture;
use crate::record::{NestedRun, Run};
use crate::tool::{Tool, ToolContext, ToolDef, ToolError, ToolResult, ToolValue};

/// Collects the runs of agents used as tools during an outer run, and tells
/// them how many tokens the outer run has left.
#[derive(Debug, Default)]
pub(crate) struct NestedRuns {
    pub runs: Mutex<Vec<NestedRun>>,
    /// The outer run's token budget still unspent, if it has one.
    pub budget_left: Mutex<Option<u64>>,
}

/// An agent as a [`Tool`]: `{"task": "…"}` in, its final text out. Made by
/// [`Agent::as_tool`].
pub struct AgentTool {
    agent: Agent,
    def: ToolDef,
}

impl std::fmt::Debug for AgentTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTool")
            .field("name", &self.def.name)
            .finish()
    }
}

impl AgentTool {
    pub(crate) fn new(agent: Agent, name: String, description: String) -> Self {
        let parameters = serde_json::json!({
            "type": "object",
            "properties": {"task": {"type": "string", "description": "What to do, in full sentences."}},
            "required": ["task"],
            "additionalProperties": false
        });
        Self {
            agent,
            def: ToolDef::new(name, description, parameters).strict(true),
        }
    }
}

impl Tool for AgentTool {
    fn def(&self) -> &ToolDef {
        &self.def
    }
    fn call<'a>(&'a self, args: Value, ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let name = self.def.name.clone();
            let Some(task) = args.get("task").and_then(Value::as_str) else {
                return Err(ToolError::InvalidArguments {
                    tool: name,
                    issues: vec![crate::schema::ValidationIssue {
                        pointer: "/task".into(),
                        message: "a string is required".into(),
                    }],
                });
            };
            let collector = ctx.get::<NestedRuns>(&name).ok();
            let record = |run: Run| {
                if let Some(collector) = &collector
                    && let Ok(mut runs) = collector.runs.lock()
                {
                    runs.push(NestedRun {
                        tool: name.clone(),
                        run: Box::new(run),
                    });
                }
            };
            // The inner run spends at most what the outer run has left.
            let left = collector
                .as_ref()
                .and_then(|c| c.budget_left.lock().ok().and_then(|l| *l));
            let agent = match (left, self.agent.cfg.token_budget) {
                (Some(left), Some(own)) if own <= left => self.agent.clone(),
                (Some(left), _) => self.agent.clone().token_budget(left),
                (None, _) => self.agent.clone(),
            };
            match agent.run(task).await {
                Ok(run) => {
                    let text = run.text().to_owned();
                    record(run);
                    Ok(ToolValue::Text(text))
                }
                Err(e) => match e.into_run() {
                    Ok((stop, run)) => {
                        record(run);
                        Err(ToolError::Failed {
                            tool: name,
                            message: stop.to_string(),
                        })
                    }
                    Err(e) => Err(ToolError::Failed {
                        tool: name,
                        message: e.to_string(),
                    }),
                },
            }
        })
    }
}

pub(crate) fn collector() -> Arc<NestedRuns> {
    Arc::new(NestedRuns::default())
}

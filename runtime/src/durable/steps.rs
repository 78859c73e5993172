//! The steps of a durable run, as the agent asks for them: a model call or a
//! tool call goes to the run's handler (which journals it) and its outcome
//! comes back. The agent's model and tools are replaced by stand-ins that ask
//! over a channel; the agent's loop itself is unchanged.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::provider::{Capabilities, ChatStream, Model};
use crate::tool::{Tool, ToolContext, ToolDef, ToolError, ToolResult};

/// A step the agent asks its handler to run (and journal).
pub(crate) enum Step {
    /// A model call.
    Model {
        request: Box<ChatRequest>,
        reply: oneshot::Sender<Result<ChatResponse>>,
    },
    /// A tool call: the tool, its arguments, the call's id, the context it
    /// runs with.
    Tool {
        name: String,
        arguments: String,
        call_id: String,
        context: ToolContext,
        reply: oneshot::Sender<ToolResult>,
    },
}

/// The error when the run's handler is gone (the invocation ended).
fn handler_gone() -> Error {
    Error::connection("the durable run's handler ended")
}

/// Asks the run's handler for the step `make` writes (given where its
/// outcome goes), and waits for the outcome; `None` when the handler is gone.
async fn ask<T>(
    steps: &mpsc::Sender<Step>,
    make: impl FnOnce(oneshot::Sender<T>) -> Step,
) -> Option<T> {
    let (reply, outcome) = oneshot::channel();
    steps.send(make(reply)).await.ok()?;
    outcome.await.ok()
}

/// The model of a durable run: each call is a step.
pub(crate) struct StepModel {
    pub inner: Arc<dyn Model>,
    pub steps: mpsc::Sender<Step>,
}

impl Model for StepModel {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn discover(&self) -> BoxFuture<'_, ()> {
        self.inner.discover()
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        Box::pin(async move {
            let request = Box::new(request.clone());
            ask(&self.steps, |reply| Step::Model { request, reply })
                .await
                .unwrap_or_else(|| Err(handler_gone()))
        })
    }

    /// A durable run's model calls are blocking (a journaled step is a whole
    /// answer): the answer comes as one piece.
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        Box::pin(async move { Ok(crate::provider::replay_as_stream(self.chat(request).await?)) })
    }
}

/// A tool of a durable run: each call is a step.
pub(crate) struct StepTool {
    pub inner: Arc<dyn Tool>,
    pub steps: mpsc::Sender<Step>,
}

impl Tool for StepTool {
    fn def(&self) -> &ToolDef {
        self.inner.def()
    }

    fn call<'a>(&'a self, args: Value, ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let name = self.inner.def().name.clone();
            let step = |reply| Step::Tool {
                name: name.clone(),
                arguments: args.to_string(),
                call_id: ctx.call_id().unwrap_or_default().to_owned(),
                context: ctx.clone(),
                reply,
            };
            ask(&self.steps, step).await.unwrap_or_else(|| {
                Err(ToolError::Cancelled {
                    tool: name.clone(),
                    reason: "the durable run's handler ended".into(),
                })
            })
        })
    }

    fn sequential(&self) -> bool {
        self.inner.sequential()
    }

    fn schema_error(&self) -> Option<&crate::schema::SchemaError> {
        self.inner.schema_error()
    }

    fn annotations(&self) -> crate::tool::ToolAnnotations {
        self.inner.annotations()
    }

    fn output_schema(&self) -> Option<&Value> {
        self.inner.output_schema()
    }
}

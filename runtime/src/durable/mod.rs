//! Durable agents on [Restate](https://restate.dev) (feature `restate`): an
//! [`Agent`] run as a Restate workflow in which every model call and every
//! tool call is one journaled step. After a crash or a deploy, Restate runs
//! the handler again and the journal answers every step it already has: the
//! model is never asked again for a turn it answered, a finished tool never
//! runs again. A tool that needs approval waits on a durable signal for as
//! long as it takes (minutes or days, the worker may restart meanwhile);
//! whoever approves calls the workflow's `approve` handler from anywhere.
//!
//! ```no_run
//! # async fn demo(agent: typecall::Agent) {
//! use typecall::durable::{DurableAgent, restate_sdk::prelude::*};
//! let durable = DurableAgent::new(agent).needs_approval("refund");
//! HttpServer::new(Endpoint::builder().bind(durable).build())
//!     .listen_and_serve("127.0.0.1:9080".parse().unwrap())
//!     .await;
//! # }
//! ```
//!
//! Registered with a Restate server, the workflow `Agent` has three handlers
//! (Restate's ingress, port 8080 by default, `{run}` the run's id):
//!
//! - `POST /Agent/{run}/run` with `{"input": "…"}` runs the agent and answers
//!   with its [`Run`] (`/send` starts it without waiting);
//! - `POST /Agent/{run}/pending` lists the calls waiting for approval;
//! - `POST /Agent/{run}/approve` with `{"call_id": "…", "approved": true}`
//!   decides one (`"reason"` is told to the model when denied).
//!
//! What a run guarantees: the model's answers and the tools' results are
//! journaled values (serde, as [`Run`] and
//! [`ChatResponse`] are); a turn's calls run one after another in call order
//! (so a replay asks for them in the same order); a tool reads its
//! [`IdempotencyKey`] (the run's id and the call's id, the same on every
//! retry) from its context to make its side effect happen once even when a
//! crash struck while it ran — Restate completes each step at most once, and
//! runs a step that had not completed again. A run's model calls are
//! blocking; its events are the journal (Restate's UI and CLI show each
//! step), not a token stream. An agent's `deadline` counts from each attempt
//! of the handler, time waiting for approval included; its `tool_timeout`
//! limits each tool's own run, not the wait for its approval.
//!
//! A worker that verifies Restate's request identity (the SDK's identity
//! keys) needs a JWT crypto backend: add `restate-sdk = { version = "0.13",
//! features = ["rust_crypto"] }` to its own dependencies (typecall builds the
//! SDK without one, and with nothing else than its HTTP server).

mod steps;

use std::sync::Arc;
use std::time::Duration;

use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use restate_sdk;

use crate::agent::{Agent, Run};
use crate::chat::ChatResponse;
use crate::error::{ApiError, Error};
use crate::tool::{Tool, ToolError, ToolValue};
use steps::{Step, StepModel, StepTool};

/// What a durable run is asked: the user's message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInput {
    /// The user's message.
    pub input: String,
}

/// A call waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The call's id (what [`Approval::call_id`] names).
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments, as JSON text.
    pub arguments: String,
}

/// A decision on a call that waits for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The call decided.
    pub call_id: String,
    /// Whether it may run.
    pub approved: bool,
    /// Why not, told to the model when denied.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The key a tool of a durable run uses to make its side effect happen once:
/// `{run id}/{call id}`, the same on every retry of the call. Tools read it
/// from their context (a `Ctx<IdempotencyKey>` parameter, or
/// [`ToolContext::get`](crate::tool::ToolContext::get)), and give it to the
/// payment API or keep it in their own store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(pub String);

/// An [`Agent`] as a Restate workflow named `Agent` (see the module docs).
/// Cheap to clone.
#[derive(Clone)]
pub struct DurableAgent {
    agent: Agent,
    approvals: Arc<Vec<String>>,
    approval_timeout: Duration,
}

impl std::fmt::Debug for DurableAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableAgent")
            .field("agent", &self.agent)
            .field("approvals", &self.approvals)
            .field("approval_timeout", &self.approval_timeout)
            .finish()
    }
}

/// Where the run's invocation id is kept (for `approve`).
const INVOCATION: &str = "invocation";
/// Where the calls waiting for approval are kept (for `pending`).
const PENDING: &str = "pending";
/// The code of the error Restate gives a cancelled run.
const CANCELLED: u16 = 409;

impl DurableAgent {
    /// `agent`, run durably. Its tools and model stay as they are; each of
    /// their calls becomes a journaled step.
    pub fn new(agent: Agent) -> Self {
        Self {
            agent,
            approvals: Arc::new(Vec::new()),
            approval_timeout: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Calls of `tool` wait for an [`Approval`] before they run; a denial is
    /// the call's result ([`ToolError::Denied`], with the reason), which the
    /// model sees.
    pub fn needs_approval(mut self, tool: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.approvals).push(tool.into());
        self
    }

    /// How long a call waits for its approval (a week by default); then it
    /// is denied, and the model told that no one approved in time.
    pub fn approval_timeout(mut self, timeout: Duration) -> Self {
        self.approval_timeout = timeout;
        self
    }

    /// The agent of one attempt of a run: its model and tools ask `steps`.
    fn bridged(&self, steps: &mpsc::Sender<Step>) -> Agent {
        let mut agent = self.agent.clone();
        let cfg = &mut agent.cfg;
        cfg.model = Arc::new(StepModel {
            inner: cfg.model.clone(),
            steps: steps.clone(),
        });
        cfg.toolbox = cfg.toolbox.map_tools(|inner| {
            Arc::new(StepTool {
                inner,
                steps: steps.clone(),
            }) as Arc<dyn Tool>
        });
        cfg.tools_in_order = true;
        // A call may wait days for its approval: the tool's own time limit
        // holds around the tool itself, in the handler (`journal`).
        cfg.tool_timeout = None;
        agent
    }

    /// Runs one step in the journal (with the agent's own model and tools)
    /// and gives the agent its outcome; `turn` counts the model calls. A
    /// cancelled run's error is returned, to end the handler.
    async fn journal(
        &self,
        ctx: &WorkflowContext<'_>,
        step: Step,
        turn: &mut u32,
    ) -> Result<(), TerminalError> {
        match step {
            Step::Model { request, reply } => {
                let model = self.agent.cfg.model.clone();
                *turn += 1;
                let answered = ctx
                    .run(|| async move {
                        match model.chat(&request).await {
                            Ok(r) => Ok(Json(r)),
                            // Retried by Restate (within its retry policy).
                            Err(e) if e.is_retryable() => Err(HandlerError::from(e)),
                            Err(e) => Err(TerminalError::new_with_code(
                                e.status().unwrap_or(500),
                                e.to_string(),
                            )
                            .into()),
                        }
                    })
                    .name(format!("model turn {turn}"))
                    .await;
                let outcome = match answered {
                    Ok(Json(r)) => Ok::<ChatResponse, Error>(r),
                    // The run was cancelled: not the model's failure.
                    Err(e) if e.code() == CANCELLED => return Err(e),
                    Err(e) => Err(Error::from_api(ApiError {
                        status: e.code(),
                        message: e.message().to_owned(),
                        kind: None,
                        code: None,
                        param: None,
                    })),
                };
                let _ = reply.send(outcome);
            }
            Step::Tool {
                name,
                arguments,
                call_id,
                context,
                reply,
            } => {
                if self.approvals.contains(&name) {
                    let decided = self.approval(ctx, &name, &arguments, &call_id).await?;
                    if let Some(denied) = decided {
                        let _ = reply.send(Err(denied));
                        return Ok(());
                    }
                }
                let tool = match self.agent.cfg.tool_timeout {
                    Some(limit) => self.agent.cfg.toolbox.clone().timeout(limit),
                    None => self.agent.cfg.toolbox.clone(),
                };
                let mut context = context;
                context.insert(IdempotencyKey(format!("{}/{call_id}", ctx.key())));
                let (tool_name, args) = (name.clone(), arguments);
                let outcome = ctx
                    .run(|| async move {
                        // A tool's failure is its result, journaled: the
                        // model sees it, on every replay alike.
                        let r = tool.call_in(&tool_name, &args, &context).await;
                        Ok(Json(r.map(|v| v.to_content()).map_err(|e| match e {
                            ToolError::Failed { message, .. } => message,
                            other => other.to_string(),
                        })))
                    })
                    .name(format!("tool {name} ({call_id})"))
                    .await?;
                let result = match outcome.into_inner() {
                    Ok(text) => Ok(ToolValue::Text(text)),
                    Err(message) => Err(ToolError::Failed {
                        tool: name,
                        message,
                    }),
                };
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    /// Waits for the decision on a call (or the timeout); `Some` with the
    /// denial when it may not run.
    async fn approval(
        &self,
        ctx: &WorkflowContext<'_>,
        tool: &str,
        arguments: &str,
        call_id: &str,
    ) -> Result<Option<ToolError>, TerminalError> {
        let mut pending: Vec<PendingApproval> = ctx
            .get::<Json<Vec<PendingApproval>>>(PENDING)
            .await?
            .map(Json::into_inner)
            .unwrap_or_default();
        pending.push(PendingApproval {
            call_id: call_id.to_owned(),
            tool: tool.to_owned(),
            arguments: arguments.to_owned(),
        });
        ctx.set(PENDING, Json(pending.clone()));
        let signal = format!("approval:{call_id}");
        let timeout = self.approval_timeout;
        let decided: Option<Approval> = restate_sdk::select! {
            approval = ctx.signal::<Json<Approval>>(&signal) => Some(approval?.into_inner()),
            slept = ctx.sleep(timeout) => { slept?; None }
        };
        pending.retain(|p| p.call_id != call_id);
        ctx.set(PENDING, Json(pending));
        let denied = |message: String| ToolError::Denied {
            tool: tool.to_owned(),
            message,
        };
        Ok(match decided {
            Some(a) if a.approved => None,
            Some(a) => Some(denied(
                a.reason
                    .unwrap_or_else(|| "a person denied this call".to_owned()),
            )),
            None => Some(denied(format!(
                "no one approved this call within {} s",
                timeout.as_secs()
            ))),
        })
    }
}

/// Aborts the run's task when the handler's attempt ends (Restate suspends
/// or retries it: the next attempt starts the agent again, from the journal).
struct AbortOnDrop(tokio::task::JoinHandle<crate::error::Result<Run>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The workflow's handlers (what the macro makes of them carries no docs of
/// its own: Restate's clients for them are documented here).
#[allow(missing_docs)]
mod service {
    use super::*;

    #[restate_sdk::workflow(name = "Agent")]
    impl DurableAgent {
        /// Runs the agent on `input`, each step journaled.
        #[handler]
        async fn run(
            &self,
            ctx: WorkflowContext<'_>,
            input: Json<RunInput>,
        ) -> Result<Json<Run>, HandlerError> {
            ctx.set(INVOCATION, ctx.invocation_id().to_owned());
            let (tx, mut rx) = mpsc::channel::<Step>(1);
            let agent = self.bridged(&tx);
            drop(tx);
            let message = input.into_inner().input;
            let mut task = AbortOnDrop(tokio::spawn(async move { agent.run(message).await }));
            let mut turn = 0;
            loop {
                tokio::select! {
                    step = rx.recv() => match step {
                        Some(step) => self.journal(&ctx, step, &mut turn).await?,
                        None => break,
                    },
                    done = &mut task.0 => return finished(done),
                }
            }
            finished((&mut task.0).await)
        }

        /// The calls of this run waiting for approval.
        #[handler]
        async fn pending(
            &self,
            ctx: SharedWorkflowContext<'_>,
        ) -> Result<Json<Vec<PendingApproval>>, HandlerError> {
            Ok(ctx
                .get::<Json<Vec<PendingApproval>>>(PENDING)
                .await?
                .unwrap_or_else(|| Json(Vec::new())))
        }

        /// Decides a call waiting for approval.
        #[handler]
        async fn approve(
            &self,
            ctx: SharedWorkflowContext<'_>,
            approval: Json<Approval>,
        ) -> Result<(), HandlerError> {
            let approval = approval.into_inner();
            let Some(invocation) = ctx.get::<String>(INVOCATION).await? else {
                return Err(TerminalError::new_with_code(404, "no such run").into());
            };
            ctx.invocation_handle(invocation)
                .signal(format!("approval:{}", approval.call_id))
                .resolve(Json(approval));
            Ok(())
        }
    }
}

/// The handler's answer for the run's end.
fn finished(
    done: std::result::Result<crate::error::Result<Run>, tokio::task::JoinError>,
) -> Result<Json<Run>, HandlerError> {
    match done {
        Ok(Ok(run)) => Ok(Json(run)),
        Ok(Err(e)) => Err(TerminalError::new(e.to_string()).into()),
        Err(e) => Err(TerminalError::new(format!("the agent's task failed: {e}")).into()),
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::ScriptedModel;

    #[test]
    fn a_run_attempt_asks_its_handler_for_each_step_in_call_order() {
        let agent = Agent::new(ScriptedModel::new().text("hi"))
            .tool_timeout(Duration::from_secs(1))
            .max_parallel_tools(4);
        let durable = DurableAgent::new(agent).needs_approval("refund");
        let (tx, _rx) = mpsc::channel(1);
        let bridged = durable.bridged(&tx);
        assert!(bridged.cfg.tools_in_order);
        assert_eq!(
            bridged.cfg.tool_timeout, None,
            "the wait for approval is not cut by the tool's time limit"
        );
        assert_eq!(
            durable.agent.cfg.tool_timeout,
            Some(Duration::from_secs(1)),
            "the tool's own run keeps it"
        );
        assert_eq!(bridged.cfg.model.name(), durable.agent.cfg.model.name());
    }
}

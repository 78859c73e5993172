//! Running a turn's tool calls: concurrently (bounded), `sequential` tools one
//! at a time, each call started exactly once (by its position in the turn,
//! whether it arrived streamed or whole), results kept in call order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::events::AgentEvent;
use super::{BeforeHook, Config, HookDecision};
use crate::chat::ToolCall;
use crate::record::ToolCallRecord;
use crate::tool::{ToolContext, ToolError, ToolResult, Toolbox};

/// Where a run's events go: a bounded channel, so a reader that falls behind
/// slows the run down instead of letting events pile up.
pub(crate) type Sink = tokio::sync::mpsc::Sender<crate::error::Result<AgentEvent>>;

/// Sends an event, waiting while the reader is behind (nothing when no one
/// listens).
pub(crate) async fn emit(sink: &Option<Sink>, event: AgentEvent) {
    if let Some(s) = sink {
        let _ = s.send(Ok(event)).await;
    }
}

/// The call as it goes into the history: arguments that are not JSON would
/// poison later turns, so they become `{}` (the error is the call's result).
pub(crate) fn with_json_arguments(call: ToolCall) -> ToolCall {
    match call.parsed_arguments() {
        Ok(_) => call,
        Err(_) => ToolCall::new(call.id, call.name, "{}"),
    }
}

/// The call a hook's decision leaves, and the error when it denied it.
fn apply(call: ToolCall, decision: HookDecision) -> (ToolCall, Option<ToolError>) {
    match decision {
        HookDecision::Deny(message) => {
            let e = ToolError::Denied {
                tool: call.name.clone(),
                message,
            };
            (call, Some(e))
        }
        HookDecision::Rewrite(new) => (ToolCall { id: call.id, ..new }, None),
        HookDecision::Allow => (call, None),
    }
}

fn started_event(call: &ToolCall) -> AgentEvent {
    AgentEvent::ToolCallStarted {
        id: call.id.clone(),
        name: call.name.clone(),
        arguments: call.arguments.clone(),
    }
}

/// What every turn's calls run with, set up once per run: the tools, their
/// context, and one lock per `sequential` tool.
#[derive(Clone)]
pub(crate) struct Tools {
    toolbox: Arc<Toolbox>,
    ctx: Arc<ToolContext>,
    sequential: Arc<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Tools {
    pub(crate) fn new(toolbox: Toolbox, ctx: ToolContext) -> Self {
        let sequential = toolbox
            .names()
            .into_iter()
            .filter(|n| toolbox.get(n).is_some_and(|t| t.sequential()))
            .map(|n| (n, Arc::new(tokio::sync::Mutex::new(()))))
            .collect();
        Self {
            toolbox: Arc::new(toolbox),
            ctx: Arc::new(ctx),
            sequential: Arc::new(sequential),
        }
    }
}

/// The tool calls of one turn, running.
pub(crate) struct Executor {
    set: JoinSet<(usize, ToolCallRecord)>,
    tools: Tools,
    permits: Arc<Semaphore>,
    hook: Option<BeforeHook>,
    /// The hook sees only calls of tools that may destroy.
    hook_only_destructive: bool,
    sink: Option<Sink>,
    /// Every call started, by position: the call and when it started.
    started: BTreeMap<usize, (ToolCall, Instant)>,
    /// The records of the calls that finished, by position.
    done: BTreeMap<usize, ToolCallRecord>,
    /// One call at a time, in call order (a durable run's journal must see
    /// the same order on replay): the end of the call started last.
    in_order: Option<Option<tokio::sync::oneshot::Receiver<()>>>,
}

impl Executor {
    pub(crate) fn new(cfg: &Config, tools: Tools, sink: Option<Sink>) -> Self {
        Self {
            set: JoinSet::new(),
            tools,
            permits: Arc::new(Semaphore::new(cfg.max_parallel_tools)),
            hook: cfg.before_tool_call.clone(),
            hook_only_destructive: cfg.hook_only_destructive,
            sink,
            started: BTreeMap::new(),
            done: BTreeMap::new(),
            in_order: cfg.tools_in_order.then_some(None),
        }
    }

    /// Whether the call at `position` has started.
    pub(crate) fn has_started(&self, position: usize) -> bool {
        self.started.contains_key(&position)
    }

    /// Starts the call at `position` of the turn, unless it started already.
    /// A synchronous `before_tool_call` hook decides here; an asynchronous one
    /// inside the call's own task, so waiting for a person blocks neither the
    /// run nor other calls.
    pub(crate) async fn start(&mut self, position: usize, call: ToolCall) {
        if self.has_started(position) {
            return;
        }
        self.started
            .insert(position, (call.clone(), Instant::now()));
        let raw_arguments = call.arguments.clone();
        let hook = self.hook.as_ref().filter(|_| {
            !self.hook_only_destructive
                || self
                    .tools
                    .toolbox
                    .get(&call.name)
                    .is_none_or(|t| t.annotations().may_destroy())
        });
        let (call, decided, wait_for) = match hook {
            Some(BeforeHook::Sync(h)) => {
                let decision = h(&call);
                let (call, denied) = apply(call, decision);
                emit(&self.sink, started_event(&call)).await;
                (call, Some(denied), None)
            }
            Some(BeforeHook::Async(h)) => {
                let pending = h(call.clone());
                (call, None, Some(pending))
            }
            None => {
                emit(&self.sink, started_event(&call)).await;
                (call, Some(None), None)
            }
        };
        let toolbox = self.tools.toolbox.clone();
        let ctx = self.tools.ctx.clone();
        let permits = self.permits.clone();
        let lock = self.tools.sequential.get(&call.name).cloned();
        let sink = self.sink.clone();
        // In order: this call waits for the one before to end, and tells the
        // next one when it ends (or is stopped: the sender drops).
        let (after, ended) = match &mut self.in_order {
            Some(last) => {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                (last.replace(rx), Some(tx))
            }
            None => (None, None),
        };
        self.set.spawn(async move {
            let _ended = ended;
            if let Some(before) = after {
                let _ = before.await;
            }
            let (call, denied) = match (decided, wait_for) {
                (Some(denied), _) => (call, denied),
                (None, Some(pending)) => {
                    let (call, denied) = apply(call, pending.await);
                    emit(&sink, started_event(&call)).await;
                    (call, denied)
                }
                (None, None) => (call, None),
            };
            let t0 = Instant::now();
            let result: ToolResult = match denied {
                Some(e) => Err(e),
                None => {
                    let _permit = permits.acquire_owned().await;
                    let _guard = match &lock {
                        Some(l) => Some(l.lock().await),
                        None => None,
                    };
                    toolbox
                        .call_in(&call.name, &call.arguments, &ctx.for_call(&call.id))
                        .await
                }
            };
            let duration = t0.elapsed();
            let result = result.map(|v| v.to_content());
            let call = with_json_arguments(call);
            emit(
                &sink,
                AgentEvent::ToolCallFinished {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    result: result.clone(),
                    duration,
                },
            )
            .await;
            (
                position,
                ToolCallRecord {
                    call,
                    raw_arguments,
                    result,
                    duration,
                },
            )
        });
    }

    /// Waits for every started call. Cancel-safe: a call that finished is
    /// kept even when this future is dropped (at a deadline), and [`cut`]
    /// returns it.
    ///
    /// [`cut`]: Executor::cut
    pub(crate) async fn join(&mut self) {
        while let Some(joined) = self.set.join_next().await {
            if let Ok((position, record)) = joined {
                self.done.insert(position, record);
            }
        }
    }

    /// Stops the calls still running (their tasks are aborted; see
    /// [`Agent::tool_timeout`](super::Agent::tool_timeout) for what that can
    /// stop) and returns every record in call order: finished calls with their
    /// results, stopped ones with [`ToolError::Cancelled`].
    pub(crate) fn cut(mut self, reason: &str) -> Vec<ToolCallRecord> {
        self.set.abort_all();
        while let Some(joined) = self.set.try_join_next() {
            if let Ok((position, record)) = joined {
                self.done.insert(position, record);
            }
        }
        for (position, (call, t0)) in std::mem::take(&mut self.started) {
            self.done.entry(position).or_insert_with(|| ToolCallRecord {
                raw_arguments: call.arguments.clone(),
                result: Err(ToolError::Cancelled {
                    tool: call.name.clone(),
                    reason: reason.to_owned(),
                }),
                duration: t0.elapsed(),
                call: with_json_arguments(call),
            });
        }
        std::mem::take(&mut self.done).into_values().collect()
    }

    /// Every record, in call order, once [`join`](Executor::join) returned.
    pub(crate) fn records(mut self) -> Vec<ToolCallRecord> {
        std::mem::take(&mut self.done).into_values().collect()
    }
}

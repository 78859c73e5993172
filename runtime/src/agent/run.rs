//! The loop: turns, parallel tool execution, error feedback, limits, and the
//! [`Run`] record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::constrained::{self, Step};
use super::events::AgentEvent;
use super::nested::{NestedRuns, collector};
use super::{AgentStream, Config, HookDecision, ToolMode};
use crate::chat::{
    ChatRequest, ChatResponse, FinishReason, Message, RateLimits, ResponseFormat, StreamEvent,
    ToolCall, ToolChoice, Usage,
};
use crate::error::{Error, Result};
use crate::output::decode::{self, AnswerError};
use crate::schema::{Dialect, Schema};
use crate::tool::{Tool, ToolContext, ToolDef, ToolError, ToolResult, Toolbox};

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
    /// The model (or its provider) failed.
    #[error("the model failed: {0}")]
    Model(Box<Error>),
}

pub(crate) struct RunState {
    messages: Vec<Message>,
    run: Run,
    started: Instant,
}

pub(crate) fn start(cfg: &Config, input: String) -> RunState {
    let mut messages = Vec::new();
    if let Some(s) = &cfg.system {
        messages.push(Message::system(s.clone()));
    }
    messages.push(Message::user(input));
    RunState {
        messages,
        run: Run::default(),
        started: Instant::now(),
    }
}

pub(crate) fn resume(transcript: Vec<Message>, input: String) -> RunState {
    let mut messages = transcript;
    messages.push(Message::user(input));
    RunState {
        messages,
        run: Run::default(),
        started: Instant::now(),
    }
}

/// The typed final answer of a run: a `final_answer` tool (native mode) or the
/// `final` branch (constrained mode) whose value is checked against `T`.
#[derive(Clone)]
pub(crate) struct Typed {
    schema: &'static Schema,
    check: Arc<dyn Fn(Value) -> std::result::Result<Value, AnswerError> + Send + Sync>,
}

const FINAL_TOOL: &str = "final_answer";

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
    ) -> crate::provider::BoxFuture<'a, ToolResult> {
        Box::pin(async {
            Err(ToolError::Failed {
                tool: FINAL_TOOL.into(),
                message: "handled by the agent".into(),
            })
        })
    }
}

type Sink = mpsc::UnboundedSender<Result<AgentEvent>>;

fn emit(sink: &Option<Sink>, ev: AgentEvent) {
    if let Some(s) = sink {
        let _ = s.send(Ok(ev));
    }
}

fn stop(state: RunState, reason: AgentStop) -> Error {
    let mut run = state.run;
    run.transcript = state.messages;
    run.elapsed = state.started.elapsed();
    Error::Agent {
        stop: reason,
        run: Box::new(run),
    }
}

/// Runs the loop to its end.
pub(crate) async fn drive(
    cfg: Config,
    mut state: RunState,
    sink: Option<Sink>,
    typed: Option<Typed>,
    streaming: bool,
) -> Result<Run> {
    let span = tracing::info_span!(
        "invoke_agent",
        otel.name = "invoke_agent",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.request.model = %cfg.model.name(),
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
    );
    async move {
        let mode = cfg.effective_tool_mode();
        let nested = collector();
        let mut ctx = cfg.toolbox.tool_context().clone();
        ctx.insert_arc(nested.clone());
        let mut toolbox = cfg.toolbox.clone();
        if let Some(t) = cfg.tool_timeout {
            toolbox = toolbox.timeout(t);
        }
        let toolbox = Arc::new(toolbox);
        let ctx = Arc::new(ctx);
        let defs: Vec<ToolDef> = toolbox
            .defs()
            .into_iter()
            .map(|d| if cfg.strict_tools { d } else { d.strict(false) })
            .collect();
        let user_defs: Vec<ToolDef> = defs
            .iter()
            .filter(|d| d.name != FINAL_TOOL)
            .cloned()
            .collect();
        // Constrained mode: the step schema, and its variants for a turn that
        // must call a tool (no final branch) or must not (only the final branch).
        let (step_schema, must_call_schema, final_only_schema) = match mode {
            ToolMode::Constrained => {
                let final_schema = typed.as_ref().map(|t| t.schema.as_json());
                let parallel = cfg.max_parallel_tools > 1;
                let build = |tools: &[ToolDef], allow_final: bool| {
                    Schema::from_json(
                        "agent_step",
                        constrained::step_schema(tools, final_schema, parallel, allow_final),
                        Dialect::JsonSchema,
                    )
                };
                let must_call = if user_defs.is_empty() {
                    None
                } else {
                    Some(build(&user_defs, false)?)
                };
                (
                    Some(build(&user_defs, true)?),
                    must_call,
                    Some(build(&[], true)?),
                )
            }
            _ => (None, None, None),
        };
        let mut failures: HashMap<(String, String), u32> = HashMap::new();
        let mut after_tools = false;

        for turn in 0..cfg.max_turns {
            if let Some(d) = cfg.deadline
                && state.started.elapsed() >= d
            {
                return Err(finish_nested(state, &nested, AgentStop::Deadline(d)));
            }
            emit(&sink, AgentEvent::TurnStarted { turn });
            let last_turn = turn + 1 == cfg.max_turns;
            let mut req = ChatRequest::new(state.messages.clone());
            req.max_tokens = cfg.max_tokens;
            req.seed = cfg.seed;
            req.temperature = cfg.temperature;
            let choice = if turn == 0 {
                cfg.first_tool_choice.clone()
            } else if after_tools {
                cfg.tool_choice_after_tools.clone()
            } else {
                None
            };
            let turn_schema = match choice {
                Some(ToolChoice::Required | ToolChoice::Tool(_)) => {
                    must_call_schema.as_ref().or(step_schema.as_ref())
                }
                Some(ToolChoice::None) => final_only_schema.as_ref(),
                _ => step_schema.as_ref(),
            };
            match (turn_schema, mode) {
                (Some(schema), _) => {
                    req.response_format = ResponseFormat::JsonSchema {
                        name: "agent_step".into(),
                        schema: schema.as_json().clone(),
                        strict: true,
                    };
                }
                _ => {
                    if !defs.is_empty() {
                        req.tools = defs.clone();
                        req.parallel_tool_calls = Some(cfg.max_parallel_tools > 1);
                        req.tool_choice = if typed.is_some() && last_turn {
                            Some(ToolChoice::Tool(FINAL_TOOL.into()))
                        } else {
                            choice.clone()
                        };
                    }
                }
            }

            let mut exec = Executor::new(&cfg, toolbox.clone(), ctx.clone(), sink.clone());
            let early = mode == ToolMode::Native;
            let answer = if streaming {
                stream_turn(
                    &cfg,
                    &req,
                    &sink,
                    if early { Some(&mut exec) } else { None },
                )
                .await
            } else {
                cfg.model
                    .chat(&req)
                    .instrument(tracing::info_span!("chat", gen_ai.operation.name = "chat"))
                    .await
            };
            let resp = match answer {
                Ok(r) => r,
                Err(e) => return Err(finish_nested(state, &nested, AgentStop::Model(Box::new(e)))),
            };
            state.run.usage.add(&resp.usage);
            let mut record = TurnRecord {
                turn,
                mode,
                usage: resp.usage.clone(),
                finish_reason: resp.finish_reason.clone(),
                rate_limits: resp.rate_limits.clone(),
                text: resp.content.clone(),
                reasoning: resp.reasoning.clone(),
                tool_calls: Vec::new(),
            };
            emit(
                &sink,
                AgentEvent::TurnFinished {
                    turn,
                    usage: resp.usage.clone(),
                    finish_reason: resp.finish_reason.clone(),
                    rate_limits: resp.rate_limits.clone(),
                },
            );

            // What the model asked for.
            let (calls, final_value): (Vec<ToolCall>, Option<Value>) = match turn_schema {
                Some(schema) => match decode::extract_json(resp.text()).and_then(|v| {
                    schema.validate(&v)?;
                    Ok(v)
                }) {
                    Ok(v) => match constrained::read_step(&v, turn) {
                        Some(Step::Calls(c)) => (c, None),
                        Some(Step::Final(f)) => (Vec::new(), Some(f)),
                        None => (Vec::new(), None),
                    },
                    Err(err) => {
                        // Not a valid step: say what is wrong and go on.
                        ask_to_repair(&mut state.messages, resp.text(), &err);
                        record_turn(&mut state, &cfg, record);
                        if let Some(stop) = count_failure(
                            &mut failures,
                            "(step)",
                            &err.to_string(),
                            cfg.max_tool_retries,
                        ) {
                            return Err(finish_nested(state, &nested, stop));
                        }
                        continue;
                    }
                },
                None => (resp.tool_calls.clone(), None),
            };

            // A final answer?
            if calls.is_empty() {
                let done = match (&typed, final_value) {
                    (Some(t), Some(v)) => match (t.check)(v.clone()) {
                        Ok(full) => Some((Some(v.to_string()), Some(full))),
                        Err(err) => {
                            ask_to_repair(&mut state.messages, resp.text(), &err);
                            None
                        }
                    },
                    (Some(t), None) => match decode::extract_json(resp.text())
                        .map_err(|e| e.to_string())
                        .and_then(|v| (t.check)(v).map_err(|e| e.to_string()))
                    {
                        Ok(full) => Some((resp.content.clone(), Some(full))),
                        Err(_) => {
                            state.messages.push(resp.to_message());
                            state.messages.push(Message::user(format!(
                                "Give your final answer by calling `{FINAL_TOOL}`."
                            )));
                            None
                        }
                    },
                    (None, Some(Value::String(s))) => Some((Some(s), None)),
                    (None, Some(v)) => Some((Some(v.to_string()), None)),
                    (None, None) => Some((resp.content.clone(), None)),
                };
                if let Some((text, output)) = done {
                    if step_schema.is_some() {
                        state
                            .messages
                            .push(Message::assistant(text.clone().unwrap_or_default()));
                    } else {
                        state.messages.push(resp.to_message());
                    }
                    record_turn(&mut state, &cfg, record);
                    state.run.final_text = text;
                    state.run.output = output;
                    return Ok(finish_ok(state, &nested, &sink));
                }
                record_turn(&mut state, &cfg, record);
                continue;
            }

            // The typed answer as a tool call.
            if let Some(t) = &typed
                && let Some(fc) = calls.iter().find(|c| c.name == FINAL_TOOL)
            {
                let parsed = fc.parsed_arguments().map_err(|e| AnswerError::BadJson {
                    error: e.to_string(),
                    excerpt: String::new(),
                });
                match parsed.and_then(|v| (t.check)(v)) {
                    Ok(full) => {
                        state.messages.push(resp.to_message());
                        for c in &calls {
                            state.messages.push(Message::tool_result(c, "Done."));
                        }
                        record_turn(&mut state, &cfg, record);
                        state.run.output = Some(full);
                        return Ok(finish_ok(state, &nested, &sink));
                    }
                    Err(err) => {
                        let msg = decode::repair_prompt(&err);
                        state
                            .messages
                            .push(Message::assistant_tool_calls(calls.clone()));
                        for c in &calls {
                            let text = if c.id == fc.id {
                                msg.clone()
                            } else {
                                "Not run: fix the final answer first.".into()
                            };
                            state.messages.push(Message::tool_result(c, text));
                        }
                        record_turn(&mut state, &cfg, record);
                        if let Some(stop) = count_failure(
                            &mut failures,
                            FINAL_TOOL,
                            &err.to_string(),
                            cfg.max_tool_retries,
                        ) {
                            return Err(finish_nested(state, &nested, stop));
                        }
                        after_tools = true;
                        continue;
                    }
                }
            }

            // Run the tools (those a stream already started keep running).
            let kept: Vec<ToolCall> = calls.iter().cloned().map(with_json_arguments).collect();
            for (i, c) in calls.iter().enumerate() {
                exec.start(i, c.clone());
            }
            let records = exec.finish().await;
            if step_schema.is_some() {
                state
                    .messages
                    .push(Message::assistant(resp.text().to_owned()));
                let mut text = String::from("Tool results:");
                for r in &records {
                    let out = match &r.result {
                        Ok(s) => s.clone(),
                        Err(e) => format!("error: {e}"),
                    };
                    text.push_str(&format!(
                        "\n- {} ({}): {out}",
                        r.call.name, r.call.arguments
                    ));
                }
                text.push_str("\nContinue: call more tools, or give the final answer.");
                state.messages.push(Message::user(text));
            } else {
                state.messages.push(Message::Assistant {
                    content: resp.content.clone(),
                    tool_calls: kept,
                    reasoning: None,
                });
                for r in &records {
                    let content = match &r.result {
                        Ok(s) => s.clone(),
                        Err(e) => e.to_string(),
                    };
                    state.messages.push(Message::tool_result(&r.call, content));
                }
            }
            let mut looping = None;
            for r in &records {
                if let Err(e) = &r.result
                    && looping.is_none()
                {
                    looping = count_failure(
                        &mut failures,
                        &r.call.name,
                        &format!("{} {e}", r.raw_arguments),
                        cfg.max_tool_retries,
                    );
                }
            }
            record.tool_calls = records;
            record_turn(&mut state, &cfg, record);
            if let Some(stop) = looping {
                return Err(finish_nested(state, &nested, stop));
            }
            if let Some(budget) = cfg.token_budget
                && state.run.usage.total_tokens >= budget
            {
                let used = state.run.usage.total_tokens;
                return Err(finish_nested(
                    state,
                    &nested,
                    AgentStop::TokenBudget { used, budget },
                ));
            }
            after_tools = true;
        }
        Err(finish_nested(
            state,
            &nested,
            AgentStop::MaxTurns(cfg.max_turns),
        ))
    }
    .instrument(span)
    .await
}

/// Keeps a finished turn and shows it to the `after_turn` hook.
fn record_turn(state: &mut RunState, cfg: &Config, record: TurnRecord) {
    if let Some(after) = &cfg.after_turn {
        after(&record);
    }
    state.run.turns.push(record);
}

/// The call as it goes into the history: arguments that are not JSON would
/// poison later turns, so they become `{}` (the error is the call's result).
fn with_json_arguments(call: ToolCall) -> ToolCall {
    match call.parsed_arguments() {
        Ok(_) => call,
        Err(_) => ToolCall::new(call.id, call.name, "{}"),
    }
}

/// Puts a failed answer and the request to fix it into the conversation.
fn ask_to_repair(messages: &mut Vec<Message>, answer: &str, err: &AnswerError) {
    messages.push(Message::assistant(answer.to_owned()));
    messages.push(Message::user(decode::repair_prompt(err)));
}

fn count_failure(
    failures: &mut HashMap<(String, String), u32>,
    tool: &str,
    error: &str,
    max: u32,
) -> Option<AgentStop> {
    let n = failures
        .entry((tool.to_owned(), error.to_owned()))
        .or_insert(0);
    *n += 1;
    (*n >= max).then(|| AgentStop::ToolLoop {
        tool: tool.to_owned(),
        error: error.to_owned(),
        times: *n,
    })
}

fn take_nested(state: &mut RunState, nested: &NestedRuns) {
    if let Ok(mut runs) = nested.0.lock() {
        for n in runs.drain(..) {
            state.run.usage.add(&n.run.usage);
            state.run.nested.push(n);
        }
    }
}

fn finish_nested(mut state: RunState, nested: &NestedRuns, reason: AgentStop) -> Error {
    take_nested(&mut state, nested);
    stop(state, reason)
}

fn finish_ok(mut state: RunState, nested: &NestedRuns, sink: &Option<Sink>) -> Run {
    take_nested(&mut state, nested);
    let mut run = state.run;
    run.transcript = state.messages;
    run.elapsed = state.started.elapsed();
    let span = tracing::Span::current();
    span.record("gen_ai.usage.input_tokens", run.usage.prompt_tokens);
    span.record("gen_ai.usage.output_tokens", run.usage.completion_tokens);
    emit(sink, AgentEvent::Done(Box::new(run.clone())));
    run
}

/// One streamed turn: deltas forwarded, tool calls started as soon as their
/// arguments are complete.
async fn stream_turn(
    cfg: &Config,
    req: &ChatRequest,
    sink: &Option<Sink>,
    mut exec: Option<&mut Executor>,
) -> Result<ChatResponse> {
    let mut stream = cfg.model.stream(req).await?;
    while let Some(ev) = stream.next().await {
        match ev? {
            StreamEvent::TextDelta(t) => emit(sink, AgentEvent::TextDelta(t)),
            StreamEvent::ReasoningDelta(r) => emit(sink, AgentEvent::ReasoningDelta(r)),
            StreamEvent::ToolCallReady { index, call } => {
                if let Some(e) = exec.as_deref_mut()
                    && call.name != FINAL_TOOL
                    && call.parsed_arguments().is_ok()
                {
                    e.start(index, call);
                }
            }
            StreamEvent::Done(resp) => return Ok(*resp),
            _ => {}
        }
    }
    Err(Error::Connection(
        "the stream ended before the answer was complete".into(),
    ))
}

/// Runs tool calls concurrently (bounded), keeps them in call order.
struct Executor {
    set: JoinSet<(usize, ToolCallRecord)>,
    toolbox: Arc<Toolbox>,
    ctx: Arc<ToolContext>,
    permits: Arc<Semaphore>,
    sequential: Arc<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    hook: Option<super::BeforeHook>,
    sink: Option<Sink>,
    started: std::collections::HashSet<usize>,
}

impl Executor {
    fn new(cfg: &Config, toolbox: Arc<Toolbox>, ctx: Arc<ToolContext>, sink: Option<Sink>) -> Self {
        let sequential = toolbox
            .names()
            .into_iter()
            .filter(|n| toolbox.get(n).is_some_and(|t| t.sequential()))
            .map(|n| (n, Arc::new(tokio::sync::Mutex::new(()))))
            .collect();
        Self {
            set: JoinSet::new(),
            toolbox,
            ctx,
            permits: Arc::new(Semaphore::new(cfg.max_parallel_tools)),
            sequential: Arc::new(sequential),
            hook: cfg.before_tool_call.clone(),
            sink,
            started: Default::default(),
        }
    }

    fn start(&mut self, index: usize, call: ToolCall) {
        if !self.started.insert(index) {
            return;
        }
        let raw_arguments = call.arguments.clone();
        let (call, denied) = match self.hook.as_ref().map(|h| h(&call)) {
            Some(HookDecision::Deny(message)) => {
                let e = ToolError::Denied {
                    tool: call.name.clone(),
                    message,
                };
                (call, Some(e))
            }
            Some(HookDecision::Rewrite(new)) => (ToolCall { id: call.id, ..new }, None),
            _ => (call, None),
        };
        emit(
            &self.sink,
            AgentEvent::ToolCallStarted {
                id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            },
        );
        let toolbox = self.toolbox.clone();
        let ctx = self.ctx.clone();
        let permits = self.permits.clone();
        let lock = self.sequential.get(&call.name).cloned();
        let sink = self.sink.clone();
        self.set.spawn(async move {
            let t0 = Instant::now();
            let result: ToolResult = match denied {
                Some(e) => Err(e),
                None => {
                    let _permit = permits.acquire_owned().await;
                    let _guard = match &lock {
                        Some(l) => Some(l.lock().await),
                        None => None,
                    };
                    toolbox.call_in(&call.name, &call.arguments, &ctx).await
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
            );
            (
                index,
                ToolCallRecord {
                    call,
                    raw_arguments,
                    result,
                    duration,
                },
            )
        });
    }

    async fn finish(mut self) -> Vec<ToolCallRecord> {
        let mut done = BTreeMap::new();
        while let Some(joined) = self.set.join_next().await {
            if let Ok((i, r)) = joined {
                done.insert(i, r);
            }
        }
        done.into_values().collect()
    }
}

/// Starts a run on its own task, its events on a channel. Dropping the stream
/// aborts the task (and so the tools it started).
pub(crate) fn spawn_stream(cfg: Config, state: RunState) -> AgentStream {
    let (tx, rx) = mpsc::unbounded_channel();
    let err_tx = tx.clone();
    let handle = tokio::spawn(async move {
        if let Err(e) = drive(cfg, state, Some(tx), None, true).await {
            let _ = err_tx.send(Err(e));
        }
    });
    let guard = AbortOnDrop(handle);
    Box::pin(futures_util::stream::unfold(
        (rx, guard),
        |(mut rx, guard)| async move { rx.recv().await.map(|ev| (ev, (rx, guard))) },
    ))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! The loop, as an explicit state machine of small steps: [`Phase::Ask`] the
//! model, [`Phase::Settle`] what it answered, [`Phase::RunTools`] and feed
//! their results back, until [`Phase::Over`]. Each step takes the run as it is
//! and says where to go next; deadlines hold inside every step that waits (a
//! model call, a tool batch), so a run never outlives its deadline by more
//! than the time it takes to stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use tracing::Instrument;

use super::call_ids::CallIds;
use super::constrained;
use super::events::AgentEvent;
use super::executor::{Executor, Sink, Tools, emit, with_json_arguments};
use super::nested::{NestedRuns, collector};
use super::text_calls::{self, TextCalls};
use super::typed::{FINAL_TOOL, Typed};
use super::wire_names::WireNames;
use super::{AgentStream, Config, ToolMode};
use crate::chat::{
    ChatRequest, ChatResponse, FinishReason, Message, ResponseFormat, StreamEvent, ToolCall,
    ToolChoice, Usage,
};
use crate::error::AgentStop;
use crate::error::{Error, ErrorKind, Result};
use crate::output::decode::{self, AnswerError};
use crate::record::{Run, ToolCallRecord, TurnRecord};
use crate::schema::Schema;
use crate::tool::ToolDef;

/// How many events a streamed run may have waiting for its reader.
const EVENT_BUFFER: usize = 64;

/// The conversation and record of a run in progress.
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

/// Where the loop is.
enum Phase {
    /// Ask the model for turn `turn`.
    Ask { turn: u32 },
    /// Decide what an answer asks for: a final answer, a repair, or tools.
    Settle(Answer),
    /// Run the answer's tool calls and feed their results back.
    RunTools {
        answer: Answer,
        calls: Vec<ToolCall>,
    },
    /// The run is over.
    Over(Result<Run>),
}

/// A model's answer to one turn, with the tools it already started.
struct Answer {
    turn: u32,
    response: ChatResponse,
    form: TurnForm,
    exec: Executor,
    record: TurnRecord,
}

/// How a turn asked for tool calls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TurnForm {
    /// The provider's tool calling (or no tools at all).
    Native,
    /// The provider's tool calling, and a call is required.
    NativeMustCall,
    /// A constrained decision: a list of calls, empty when none fits.
    Step,
    /// A constrained decision that must call a tool.
    MustCall,
    /// The answer, without tools (constrained mode).
    FinalOnly,
}

/// What a decision's opening showed.
enum Opened {
    /// The decision, made by the opening.
    Settled(Box<ChatResponse>),
    /// A call begins: the grammar decides which.
    Call {
        /// What the opening cost.
        usage: Usage,
        /// The opening, where the decision goes on from it
        /// ([`constrained::fence_to_go_on_from`]).
        prefill: Option<String>,
    },
}

/// What constrained mode asks with: the decision's system prompt and
/// schemas.
struct Decisions {
    /// The agent's system prompt and the tools as text.
    system: String,
    step: Schema,
    must_call: Option<Schema>,
}

impl Decisions {
    fn of(&self, form: TurnForm) -> Option<&Schema> {
        match form {
            TurnForm::Step => Some(&self.step),
            TurnForm::MustCall => Some(self.must_call.as_ref().unwrap_or(&self.step)),
            _ => None,
        }
    }
}

/// Everything a run needs besides where it is.
struct Runner {
    cfg: Config,
    state: RunState,
    sink: Option<Sink>,
    typed: Option<Typed>,
    streaming: bool,
    mode: ToolMode,
    nested: Arc<NestedRuns>,
    tools: Tools,
    defs: Vec<ToolDef>,
    /// Tool names as the provider accepts them (native mode).
    wire: WireNames,
    steps: Option<Decisions>,
    failures: HashMap<(String, String), u32>,
    /// How often each successful call (tool and arguments) was made.
    repeats: HashMap<(String, String), u32>,
    /// One decision only: no answer request after a decision without calls.
    decide_only: bool,
    /// The server refused a decision going on from its opening's fence
    /// (llama.cpp does for a model whose template thinks first): the run's
    /// decisions are written whole.
    prefill_refused: bool,
    after_tools: bool,
    ids: CallIds,
    deadline: Option<tokio::time::Instant>,
}

/// Runs the loop to its end.
pub(crate) async fn drive(
    cfg: Config,
    state: RunState,
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
        cfg.model.discover().await;
        let mut runner = Runner::new(cfg, state, sink, typed, streaming)?;
        let mut phase = Phase::Ask { turn: 0 };
        loop {
            phase = match phase {
                Phase::Ask { turn } => runner.ask(turn).await,
                Phase::Settle(answer) => runner.settle(answer).await,
                Phase::RunTools { answer, calls } => runner.run_tools(answer, calls).await,
                Phase::Over(result) => return result,
            };
        }
    }
    .instrument(span)
    .await
}

/// One model turn, its calls read (from the provider, a constrained
/// decision, or text) but not run.
pub(crate) async fn decide(
    cfg: Config,
    state: RunState,
    typed: Option<Typed>,
) -> Result<super::Decision> {
    cfg.model.discover().await;
    let mut runner = Runner::new(cfg, state, None, typed, false)?;
    runner.decide_only = true;
    let mode = runner.mode;
    let phase = match runner.ask(0).await {
        Phase::Settle(answer) => runner.settle(answer).await,
        other => other,
    };
    let (calls, problem, run) = match phase {
        Phase::RunTools { answer, calls } => {
            let calls = runner.ids.assign(calls);
            runner.record_turn(answer.record);
            (calls, None, runner.take_run())
        }
        Phase::Over(Ok(run)) => (Vec::new(), None, run),
        Phase::Over(Err(e)) => match e.into_run() {
            Ok((AgentStop::Model(e), _)) => return Err(e),
            Ok((stop, run)) => (Vec::new(), Some(stop.to_string()), run),
            Err(e) => return Err(e),
        },
        // A repair was asked for: the answer could not be read.
        Phase::Ask { .. } | Phase::Settle(_) => {
            let why = runner
                .state
                .messages
                .last()
                .map(Message::text)
                .unwrap_or_default();
            (Vec::new(), Some(why), runner.take_run())
        }
    };
    let turn = run.turns.into_iter().next();
    Ok(super::Decision {
        calls,
        text: turn.as_ref().and_then(|t| t.text.clone()),
        turn,
        mode,
        problem,
    })
}

/// `future`, unless `deadline` passes first (`None` then).
async fn within<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    future: F,
) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, future).await.ok(),
        None => Some(future.await),
    }
}

impl Runner {
    fn new(
        cfg: Config,
        state: RunState,
        sink: Option<Sink>,
        typed: Option<Typed>,
        streaming: bool,
    ) -> Result<Self> {
        let mode = cfg.effective_tool_mode();
        tracing::info!(
            target: "typecall::agent",
            tool_mode = ?mode,
            asked = ?cfg.tool_mode,
            model = %cfg.model.name(),
            "tool mode chosen"
        );
        let nested = collector();
        let mut ctx = cfg.toolbox.tool_context().clone();
        ctx.insert_arc(nested.clone());
        let mut toolbox = cfg.toolbox.clone();
        if let Some(t) = cfg.tool_timeout {
            toolbox = toolbox.timeout(t);
        }
        let defs: Vec<ToolDef> = toolbox
            .defs()
            .into_iter()
            .map(|d| if cfg.strict_tools { d } else { d.strict(false) })
            .collect();
        let steps = match mode {
            ToolMode::Constrained => Some(decisions(&cfg, &defs)?),
            _ => None,
        };
        let wire = WireNames::of(&defs);
        let deadline = cfg
            .deadline
            .and_then(|d| state.started.checked_add(d))
            .map(tokio::time::Instant::from_std);
        let ids = CallIds::from_messages(&state.messages);
        Ok(Self {
            cfg,
            state,
            sink,
            typed,
            streaming,
            mode,
            nested,
            tools: Tools::new(toolbox, ctx),
            defs,
            wire,
            steps,
            failures: HashMap::new(),
            repeats: HashMap::new(),
            decide_only: false,
            prefill_refused: false,
            after_tools: false,
            ids,
            deadline,
        })
    }

    /// Step 1: asks the model (within the deadline); tools whose calls are
    /// complete start while it still streams.
    async fn ask(&mut self, turn: u32) -> Phase {
        if turn >= self.cfg.max_turns {
            return self.stop(AgentStop::MaxTurns(self.cfg.max_turns));
        }
        if let Some(stop) = self.deadline_passed().or_else(|| self.budget_spent()) {
            return self.stop(stop);
        }
        emit(&self.sink, AgentEvent::TurnStarted { turn }).await;
        self.ids.new_turn();
        let (mut req, form) = self.request(turn);
        let mut exec = Executor::new(&self.cfg, self.tools.clone(), self.sink.clone());
        // Agents used as tools may start while the answer streams.
        self.share_budget();
        let opened = match form {
            TurnForm::Step => match self.open(&req).await {
                None => return self.stop(self.deadline_stop()),
                Some(Err(e)) => return self.stop(AgentStop::Model(e)),
                Some(Ok(o)) => Some(o),
            },
            _ => None,
        };
        let answer = match opened {
            Some(Opened::Settled(response)) => Some(Ok(*response)),
            Some(Opened::Call { usage, prefill }) => {
                // The decision's prompt is the one just read, and it goes on
                // from the opening's fence where the server continues one
                // (instead of writing the fence again).
                req.reuse_prompt = true;
                req.prefill = prefill.filter(|_| !self.prefill_refused);
                // Calls the model may leave out are weighed by how sure it
                // was of them, where the server says so.
                let weighed = form == TurnForm::Step
                    && self.cfg.min_call_confidence > 0.0
                    && self.cfg.model.capabilities().logprobs.is_reliable();
                req.logprobs = weighed;
                let mut sent = self.send(&req, form, None).await;
                if req.prefill.is_some()
                    && matches!(&sent, Some(Err(e)) if e.kind() == ErrorKind::BadRequest)
                {
                    // A server that will not go on from the answer's start
                    // (llama.cpp, for a model whose template thinks first)
                    // is asked for the decision whole, now and for the rest
                    // of the run.
                    tracing::debug!(
                        target: "typecall::agent",
                        "the server refused a decision going on from its opening; asking for it whole"
                    );
                    self.prefill_refused = true;
                    req.prefill = None;
                    sent = self.send(&req, form, None).await;
                }
                sent.map(|r| {
                    r.map(|mut r| {
                        r.usage.add(&usage);
                        // Only a weighed decision brings its tokens to settle.
                        if !weighed {
                            r.logprobs = None;
                        }
                        r
                    })
                })
            }
            None => {
                let early = (self.mode == ToolMode::Native).then_some(&mut exec);
                self.send(&req, form, early).await
            }
        };
        let response = match answer {
            None => {
                // Tools a stream started are stopped with the model call.
                drop(exec.cut("the run's deadline passed"));
                return self.stop(self.deadline_stop());
            }
            Some(Err(e)) => return self.stop(AgentStop::Model(e)),
            Some(Ok(r)) => r,
        };
        let record = TurnRecord {
            turn,
            mode: self.mode,
            usage: response.usage.clone(),
            finish_reason: response.finish_reason.clone(),
            rate_limits: response.rate_limits.clone(),
            // A decision's text is its JSON, not an answer.
            text: if matches!(form, TurnForm::Step | TurnForm::MustCall) {
                None
            } else {
                response.content.clone()
            },
            reasoning: response.reasoning.clone(),
            tool_calls: Vec::new(),
        };
        Phase::Settle(Answer {
            turn,
            response,
            form,
            exec,
            record,
        })
    }

    /// Before a constrained decision, the model's first few tokens free of
    /// the grammar ([`constrained::Opening`]): they settle the decision when
    /// they are words (no tool is called), the empty list, a whole decision
    /// or calls the provider read; a call's opening leaves it to the grammar.
    /// Where the server gives the first token's alternatives, whether a call
    /// opens is decided by their probabilities
    /// ([`constrained::call_is_likelier`]).
    async fn open(&mut self, decision: &ChatRequest) -> Option<Result<Opened>> {
        let mut req = decision.clone();
        req.response_format = ResponseFormat::Text;
        // The first token's alternatives weigh a call against the rest;
        // without them, the opening's text decides, and needs more of it.
        let weighed = self.cfg.model.capabilities().logprobs.is_reliable();
        let tokens = if weighed {
            req.logprobs = true;
            req.top_logprobs = Some(constrained::OPENING_ALTERNATIVES);
            constrained::WEIGHED_OPENING_TOKENS
        } else {
            constrained::OPENING_TOKENS
        };
        req.max_tokens = Some(req.max_tokens.map_or(tokens, |n| n.min(tokens)));
        let mut resp = match self.send(&req, TurnForm::Step, None).await? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        // The opening's tokens weigh the opening only, never its calls.
        let first = resp.logprobs.take();
        if !resp.tool_calls.is_empty() || self.is_decision(resp.text()) {
            return Some(Ok(Opened::Settled(Box::new(resp))));
        }
        let by_text = constrained::opening(resp.text());
        let likelier = first
            .as_ref()
            .and_then(|l| l.first())
            .and_then(constrained::call_is_likelier);
        let call = match (by_text, likelier) {
            (constrained::Opening::Code, _) => false,
            (_, Some(likelier)) => likelier,
            (by_text, None) => by_text == constrained::Opening::Call,
        };
        Some(Ok(if call {
            Opened::Call {
                prefill: constrained::fence_to_go_on_from(resp.text()).map(str::to_owned),
                usage: resp.usage,
            }
        } else {
            resp.content = Some("[]".into());
            Opened::Settled(Box::new(resp))
        }))
    }

    /// Whether `text` is a whole, valid constrained decision.
    fn is_decision(&self, text: &str) -> bool {
        self.steps
            .as_ref()
            .is_some_and(|s| decision_in(&s.step, text).is_ok())
    }

    /// Sends a request (within the deadline), streamed or not. Only an
    /// answer's text is forwarded as text deltas, never a decision's JSON.
    async fn send(
        &mut self,
        req: &ChatRequest,
        form: TurnForm,
        early: Option<&mut Executor>,
    ) -> Option<Result<ChatResponse>> {
        if self.streaming {
            let text_sink = match form {
                TurnForm::Step | TurnForm::MustCall => None,
                _ => self.sink.clone(),
            };
            let turn_stream =
                stream_turn(&self.cfg, req, &self.sink, &text_sink, early, &mut self.ids);
            within(self.deadline, turn_stream).await
        } else {
            let chat = self
                .cfg
                .model
                .chat(req)
                .instrument(tracing::info_span!("chat", gen_ai.operation.name = "chat"));
            within(self.deadline, chat).await
        }
    }

    /// The tool choice of turn `turn`.
    fn choice(&self, turn: u32) -> Option<ToolChoice> {
        if turn == 0 {
            self.cfg.first_tool_choice.clone()
        } else if self.after_tools {
            self.cfg.tool_choice_after_tools.clone()
        } else {
            None
        }
    }

    /// The conversation so far as a request, with the agent's sampling
    /// options and nothing about tools.
    fn base_request(&self) -> ChatRequest {
        let cfg = &self.cfg;
        let mut req = ChatRequest::new(self.state.messages.clone());
        req.max_tokens = cfg.max_tokens;
        req.seed = cfg.seed;
        req.reasoning_effort = cfg.reasoning_effort;
        req.temperature = cfg.temperature;
        req
    }

    /// The request of turn `turn`, and how it asks for tools.
    fn request(&self, turn: u32) -> (ChatRequest, TurnForm) {
        let cfg = &self.cfg;
        let last_turn = turn + 1 == cfg.max_turns;
        let mut req = self.base_request();
        let choice = self.choice(turn);
        let must_call = matches!(choice, Some(ToolChoice::Required | ToolChoice::Tool(_)));
        let Some(steps) = &self.steps else {
            if self.defs.is_empty() {
                return (req, TurnForm::Native);
            }
            req.tools = self.wire.defs(&self.defs);
            req.parallel_tool_calls = Some(cfg.max_parallel_tools > 1);
            let forced_final = self.typed.is_some() && last_turn;
            req.tool_choice = match choice {
                _ if forced_final => Some(ToolChoice::Tool(FINAL_TOOL.into())),
                Some(ToolChoice::Tool(name)) => {
                    Some(ToolChoice::Tool(self.wire.wire_name(&name).to_owned()))
                }
                c => c,
            };
            let form = if must_call && !forced_final {
                TurnForm::NativeMustCall
            } else {
                TurnForm::Native
            };
            return (req, form);
        };
        let form = match choice {
            _ if self.typed.is_some() && last_turn => TurnForm::FinalOnly,
            Some(ToolChoice::None) => TurnForm::FinalOnly,
            _ if must_call => TurnForm::MustCall,
            _ => TurnForm::Step,
        };
        match steps.of(form) {
            Some(schema) => {
                with_system(&mut req.messages, &steps.system);
                req.response_format = ResponseFormat::JsonSchema {
                    name: "agent_step".into(),
                    schema: schema.as_json().clone(),
                    strict: true,
                };
            }
            None => self.answer_format(&mut req),
        }
        (req, form)
    }

    /// Holds a constrained answer to the typed answer's schema.
    fn answer_format(&self, req: &mut ChatRequest) {
        if let Some(t) = &self.typed {
            req.response_format = ResponseFormat::JsonSchema {
                name: "final_answer".into(),
                schema: t.schema.as_json().clone(),
                strict: true,
            };
        }
    }

    /// The answer after a constrained decision called no tool: the same
    /// conversation, without the tools, its text the answer.
    async fn ask_answer(&mut self, answer: &mut Answer) -> Option<Result<ChatResponse>> {
        let mut req = self.base_request();
        self.answer_format(&mut req);
        let resp = self.send(&req, TurnForm::FinalOnly, None).await?;
        if let Ok(r) = &resp {
            self.state.run.usage.add(&r.usage);
            answer.record.usage.add(&r.usage);
            answer.record.finish_reason = r.finish_reason.clone();
            answer.record.text = r.content.clone();
            answer.record.reasoning = r.reasoning.clone();
        }
        Some(resp)
    }

    /// Step 2: what the answer asks for: a final answer (the run is over), a
    /// repair (ask again), or tool calls (run them).
    async fn settle(&mut self, answer: Answer) -> Phase {
        let resp = &answer.response;
        self.state.run.usage.add(&resp.usage);
        emit(
            &self.sink,
            AgentEvent::TurnFinished {
                turn: answer.turn,
                usage: resp.usage.clone(),
                finish_reason: resp.finish_reason.clone(),
                rate_limits: resp.rate_limits.clone(),
            },
        )
        .await;
        let next = Phase::Ask {
            turn: answer.turn + 1,
        };
        let schema = self.steps.as_ref().and_then(|s| s.of(answer.form));
        let mut doubtful = false;
        let calls: Vec<ToolCall> = match schema {
            // A model that answers with native calls anyway (a scripted one).
            Some(_) if !resp.tool_calls.is_empty() => resp.tool_calls.clone(),
            Some(schema) => match decision_in(schema, resp.text()) {
                Ok(v) => {
                    let calls = constrained::read_decision(&v, answer.turn);
                    // A weighed decision's calls the model wrote unsure are
                    // not made, as when its opening was words.
                    let min = self.cfg.min_call_confidence;
                    doubtful = answer.form == TurnForm::Step
                        && !calls.is_empty()
                        && resp
                            .logprobs
                            .as_deref()
                            .is_some_and(|t| constrained::calls_are_doubtful(t, min));
                    if doubtful {
                        tracing::info!(
                            target: "typecall::agent",
                            decision = %resp.text(),
                            "the model wrote its calls unsure: no tool is called"
                        );
                        Vec::new()
                    } else {
                        calls
                    }
                }
                // Cut by the token limit: asking again would cut it again.
                Err(_) if resp.finish_reason == FinishReason::Length => {
                    let max_tokens = self.cfg.max_tokens;
                    self.record_turn(answer.record);
                    return self.stop(AgentStop::CallsCut { max_tokens });
                }
                Err(err) => {
                    // Not a valid decision: say what is wrong and go on.
                    ask_to_repair(&mut self.state.messages, resp.text(), &err);
                    let text = err.to_string();
                    self.record_turn(answer.record);
                    return match self.count_failure("(step)", &text) {
                        Some(stop) => self.stop(stop),
                        None => next,
                    };
                }
            },
            None => resp
                .tool_calls
                .iter()
                .cloned()
                .map(|c| self.wire.own_call(c))
                .collect(),
        };
        let mut answer = answer;
        if doubtful {
            // The decision is the empty list it would have been.
            answer.response.content = Some("[]".into());
        }
        if calls.is_empty()
            && self.offered_tools(answer.form)
            && answer.response.finish_reason == FinishReason::MalformedToolCall
        {
            // The provider could not read the call the model wrote: ask again.
            let why = "the provider could not read the tool call the model wrote";
            self.state.messages.push(Message::user(format!(
                "Your tool call could not be read ({why}). Call the tool again, its \
                 arguments one JSON object."
            )));
            self.record_turn(answer.record);
            return match self.count_failure("(malformed call)", why) {
                Some(stop) => self.stop(stop),
                None => next,
            };
        }
        let calls = if calls.is_empty() && self.offered_tools(answer.form) {
            // The model may write a tool's own name or the one it was sent as.
            let offered = |n: &str| self.cfg.toolbox.get(self.wire.own_name(n)).is_some();
            match text_calls::find(answer.response.text(), &offered) {
                TextCalls::Calls(c) => {
                    // The call was the text: it is not also an answer.
                    answer.response.content = None;
                    answer.record.text = None;
                    c.into_iter().map(|c| self.wire.own_call(c)).collect()
                }
                TextCalls::Malformed(why) => {
                    let text = answer.response.text().to_owned();
                    self.state.messages.push(Message::assistant(text));
                    self.state.messages.push(Message::user(format!(
                        "Your tool call could not be read: {why}. Call the tool again, its \
                         arguments one JSON object."
                    )));
                    self.record_turn(answer.record);
                    return match self.count_failure("(call written as text)", &why) {
                        Some(stop) => self.stop(stop),
                        None => next,
                    };
                }
                TextCalls::None => calls,
            }
        } else {
            calls
        };
        if calls.is_empty() {
            if answer.form == TurnForm::NativeMustCall {
                self.record_turn(answer.record);
                return self.stop(AgentStop::NoToolCall);
            }
            if answer.form == TurnForm::Step && !self.decide_only {
                // No tool fits: ask for the answer itself.
                let response = match self.ask_answer(&mut answer).await {
                    None => return self.stop(self.deadline_stop()),
                    Some(Err(e)) => return self.stop(AgentStop::Model(e)),
                    Some(Ok(r)) => r,
                };
                answer.response = response;
                answer.form = TurnForm::FinalOnly;
            }
            return self.settle_final(answer).await;
        }
        let resp = &answer.response;
        if let Some(t) = &self.typed
            && let Some(fc) = calls.iter().find(|c| c.name == FINAL_TOOL)
        {
            let parsed = fc.parsed_arguments().map_err(|e| AnswerError::BadJson {
                error: e.to_string(),
                excerpt: String::new(),
            });
            let fc_position = calls.iter().position(|c| c.name == FINAL_TOOL);
            let checked = parsed.and_then(|v| (t.check)(v));
            let calls = self.ids.assign(calls);
            return match checked {
                Ok(full) => {
                    self.state.messages.push(Message::Assistant {
                        content: resp.content.clone(),
                        tool_calls: calls.clone(),
                        reasoning: resp.reasoning.clone(),
                        provider_state: resp.provider_state.clone(),
                    });
                    for c in &calls {
                        self.state.messages.push(Message::tool_result(c, "Done."));
                    }
                    self.record_turn(answer.record);
                    self.state.run.output = Some(full);
                    self.finish_ok().await
                }
                Err(err) => {
                    let msg = decode::repair_prompt(&err);
                    self.state
                        .messages
                        .push(Message::assistant_tool_calls(calls.clone()));
                    for (i, c) in calls.iter().enumerate() {
                        let text = if Some(i) == fc_position {
                            msg.clone()
                        } else {
                            "Not run: fix the final answer first.".into()
                        };
                        self.state.messages.push(Message::tool_result(c, text));
                    }
                    self.record_turn(answer.record);
                    self.after_tools = true;
                    match self.count_failure(FINAL_TOOL, &err.to_string()) {
                        Some(stop) => self.stop(stop),
                        None => next,
                    }
                }
            };
        }
        Phase::RunTools { answer, calls }
    }

    /// Whether the turn of this form offered the tools to the model.
    fn offered_tools(&self, form: TurnForm) -> bool {
        matches!(form, TurnForm::Native | TurnForm::NativeMustCall) && !self.defs.is_empty()
    }

    /// Step 2, when no tool was called: the final answer, or a request for one.
    async fn settle_final(&mut self, answer: Answer) -> Phase {
        let resp = &answer.response;
        let constrained = self.steps.is_some();
        // A constrained answer that is a call written as text: the calls were
        // decided before; the answer is asked for again, in words.
        if constrained
            && self.typed.is_none()
            && let TextCalls::Calls(_) | TextCalls::Malformed(_) =
                text_calls::find(resp.text(), &|n| self.cfg.toolbox.get(n).is_some())
        {
            let text = resp.text().to_owned();
            self.state.messages.push(Message::assistant(text));
            self.state.messages.push(Message::user(
                "Answer me in words now, with what the tools gave; do not call a tool.",
            ));
            self.record_turn(answer.record);
            return match self.count_failure("(answer written as a call)", "") {
                Some(stop) => self.stop(stop),
                None => Phase::Ask {
                    turn: answer.turn + 1,
                },
            };
        }
        let done = match &self.typed {
            Some(t) => match decode::extract_json(resp.text()).and_then(|v| (t.check)(v)) {
                Ok(full) => Some((resp.content.clone(), Some(full))),
                Err(err) if constrained => {
                    let text = err.to_string();
                    ask_to_repair(&mut self.state.messages, resp.text(), &err);
                    if let Some(stop) = self.count_failure(FINAL_TOOL, &text) {
                        self.record_turn(answer.record);
                        return self.stop(stop);
                    }
                    None
                }
                Err(_) => {
                    self.state.messages.push(resp.to_message());
                    self.state.messages.push(Message::user(format!(
                        "Give your final answer by calling `{FINAL_TOOL}`."
                    )));
                    None
                }
            },
            None => Some((resp.content.clone(), None)),
        };
        let Some((text, output)) = done else {
            self.record_turn(answer.record);
            return Phase::Ask {
                turn: answer.turn + 1,
            };
        };
        if constrained {
            self.state
                .messages
                .push(Message::assistant(text.clone().unwrap_or_default()));
        } else {
            self.state.messages.push(resp.to_message());
        }
        self.record_turn(answer.record);
        self.state.run.final_text = text;
        self.state.run.output = output;
        self.finish_ok().await
    }

    /// Steps 3 and 4: runs the calls (within the deadline; those a stream
    /// started keep running), then feeds the results back.
    async fn run_tools(&mut self, answer: Answer, calls: Vec<ToolCall>) -> Phase {
        let Answer {
            turn,
            response: resp,
            mut exec,
            mut record,
            ..
        } = answer;
        // The agent's ids: unique in the conversation, the same ones the
        // calls a stream started were given.
        let calls = self.ids.assign(calls);
        // Before any call starts: agents used as tools read what is left.
        self.share_budget();
        for (i, c) in calls.iter().enumerate() {
            exec.start(i, c.clone()).await;
        }
        let finished = within(self.deadline, exec.join()).await.is_some();
        let records = if finished {
            exec.records()
        } else {
            exec.cut("the run's deadline passed")
        };
        self.feed_back(&resp, &calls, &records);
        let looping = records.iter().find_map(|r| match &r.result {
            Err(e) => self.count_failure(&r.call.name, &format!("{} {e}", r.raw_arguments)),
            Ok(_) => self.count_repeat(&r.call),
        });
        record.tool_calls = records;
        self.record_turn(record);
        self.take_nested();
        if !finished {
            return self.stop(self.deadline_stop());
        }
        if let Some(stop) = looping.or_else(|| self.budget_spent()) {
            return self.stop(stop);
        }
        self.after_tools = true;
        Phase::Ask { turn: turn + 1 }
    }

    /// Puts the calls and their results into the conversation.
    fn feed_back(&mut self, resp: &ChatResponse, calls: &[ToolCall], records: &[ToolCallRecord]) {
        if self.steps.is_some() {
            self.state
                .messages
                .push(Message::assistant(constrained::written(calls)));
            self.state
                .messages
                .push(Message::user(constrained::results(records)));
        } else {
            let wire = |c: &ToolCall| self.wire.wire_call(c.clone());
            self.state.messages.push(Message::Assistant {
                content: resp.content.clone(),
                tool_calls: calls.iter().map(|c| with_json_arguments(wire(c))).collect(),
                // Kept for providers that want it back (DeepSeek's thinking
                // mode); the wire of those that do not leaves it out.
                reasoning: resp.reasoning.clone(),
                provider_state: resp.provider_state.clone(),
            });
            for r in records {
                let call = wire(&r.call);
                self.state.messages.push(match &r.result {
                    Ok(s) => Message::tool_result(&call, s.clone()),
                    Err(e) => Message::tool_error(&call, e.to_string()),
                });
            }
        }
    }

    fn deadline_passed(&self) -> Option<AgentStop> {
        let d = self.deadline?;
        (tokio::time::Instant::now() >= d).then(|| self.deadline_stop())
    }

    fn deadline_stop(&self) -> AgentStop {
        AgentStop::Deadline(self.cfg.deadline.unwrap_or_default())
    }

    fn budget_spent(&self) -> Option<AgentStop> {
        let budget = self.cfg.token_budget?;
        let used = self.state.run.usage.total_tokens;
        (used >= budget).then_some(AgentStop::TokenBudget { used, budget })
    }

    /// Tells agents used as tools how many tokens this run has left.
    fn share_budget(&self) {
        let left = self
            .cfg
            .token_budget
            .map(|b| b.saturating_sub(self.state.run.usage.total_tokens));
        if let Ok(mut slot) = self.nested.budget_left.lock() {
            *slot = left;
        }
    }

    fn count_failure(&mut self, tool: &str, error: &str) -> Option<AgentStop> {
        let n = self
            .failures
            .entry((tool.to_owned(), error.to_owned()))
            .or_insert(0);
        *n += 1;
        (*n >= self.cfg.max_tool_retries).then(|| AgentStop::ToolLoop {
            tool: tool.to_owned(),
            error: error.to_owned(),
            times: *n,
        })
    }

    /// Counts a successful call; the same call (tool and arguments) made
    /// `max_repeated_calls` times is a loop.
    fn count_repeat(&mut self, call: &ToolCall) -> Option<AgentStop> {
        let arguments = call
            .parsed_arguments()
            .map(|v| v.to_string())
            .unwrap_or_else(|_| call.arguments.clone());
        let n = self
            .repeats
            .entry((call.name.clone(), arguments.clone()))
            .or_insert(0);
        *n += 1;
        (*n >= self.cfg.max_repeated_calls).then(|| AgentStop::RepeatedCall {
            tool: call.name.clone(),
            arguments,
            times: *n,
        })
    }

    /// Keeps a finished turn and shows it to the `after_turn` hook.
    fn record_turn(&mut self, record: TurnRecord) {
        if let Some(after) = &self.cfg.after_turn {
            after(&record);
        }
        self.state.run.turns.push(record);
    }

    /// Moves the runs of agents used as tools into this run, their tokens
    /// counted now (so the budget sees them).
    fn take_nested(&mut self) {
        if let Ok(mut runs) = self.nested.runs.lock() {
            for n in runs.drain(..) {
                self.state.run.usage.add(&n.run.usage);
                self.state.run.nested.push(n);
            }
        }
    }

    fn take_run(&mut self) -> Run {
        self.take_nested();
        let mut run = std::mem::take(&mut self.state.run);
        run.transcript = std::mem::take(&mut self.state.messages);
        run.elapsed = self.state.started.elapsed();
        run
    }

    fn stop(&mut self, reason: AgentStop) -> Phase {
        Phase::Over(Err(Error::agent(reason, self.take_run())))
    }

    async fn finish_ok(&mut self) -> Phase {
        let run = self.take_run();
        let span = tracing::Span::current();
        span.record("gen_ai.usage.input_tokens", run.usage.prompt_tokens);
        span.record("gen_ai.usage.output_tokens", run.usage.completion_tokens);
        emit(&self.sink, AgentEvent::Done(Box::new(run.clone()))).await;
        Phase::Over(Ok(run))
    }
}

/// The constrained-mode decisions for these tools (the typed answer's tool
/// left out: that answer comes from the answer request).
fn decisions(cfg: &Config, defs: &[ToolDef]) -> Result<Decisions> {
    let user_defs: Vec<ToolDef> = defs
        .iter()
        .filter(|d| d.name != FINAL_TOOL)
        .cloned()
        .collect();
    let max_calls = cfg.max_parallel_tools;
    let dialect = constrained_dialect(cfg);
    Ok(Decisions {
        system: constrained::decision_system(cfg.system.as_deref(), &user_defs, max_calls),
        step: constrained::decision(&user_defs, max_calls, false, dialect)?,
        must_call: if user_defs.is_empty() {
            None
        } else {
            Some(constrained::decision(&user_defs, max_calls, true, dialect)?)
        },
    })
}

/// The decision `text` holds, held to `schema`.
fn decision_in(schema: &Schema, text: &str) -> std::result::Result<serde_json::Value, AnswerError> {
    let v = schema.from_wire(decode::extract_json(text)?);
    schema.validate(&v)?;
    Ok(v)
}

/// The dialect decisions are sent in: any JSON Schema where the server turns
/// it into a grammar, else the strict subset.
fn constrained_dialect(cfg: &Config) -> crate::schema::Dialect {
    if cfg.model.capabilities().grammar.is_usable() {
        crate::schema::Dialect::JsonSchema
    } else {
        crate::schema::Dialect::Strict
    }
}

/// The conversation with `system` as its system prompt.
fn with_system(messages: &mut Vec<Message>, system: &str) {
    let system = Message::system(system.to_owned());
    match messages.first_mut() {
        Some(first @ Message::System { .. }) => *first = system,
        _ => messages.insert(0, system),
    }
}

/// Puts a failed answer and the request to fix it into the conversation.
fn ask_to_repair(messages: &mut Vec<Message>, answer: &str, err: &AnswerError) {
    messages.push(Message::assistant(answer.to_owned()));
    messages.push(Message::user(decode::repair_prompt(err)));
}

/// One streamed turn: deltas forwarded, tool calls started (under the agent's
/// ids) as soon as their arguments are complete.
async fn stream_turn(
    cfg: &Config,
    req: &ChatRequest,
    sink: &Option<Sink>,
    text_sink: &Option<Sink>,
    mut exec: Option<&mut Executor>,
    ids: &mut CallIds,
) -> Result<ChatResponse> {
    let mut stream = cfg.model.stream(req).await?;
    while let Some(ev) = stream.next().await {
        match ev? {
            StreamEvent::TextDelta(t) => emit(text_sink, AgentEvent::TextDelta(t)).await,
            StreamEvent::ReasoningDelta(r) => emit(sink, AgentEvent::ReasoningDelta(r)).await,
            StreamEvent::ToolCallReady { index, call } => {
                if let Some(e) = exec.as_deref_mut()
                    && call.name != FINAL_TOOL
                    && call.parsed_arguments().is_ok()
                    && !e.has_started(index)
                {
                    let id = ids.id(index, &call.id);
                    e.start(index, ToolCall { id, ..call }).await;
                }
            }
            StreamEvent::Done(resp) => return Ok(*resp),
            _ => {}
        }
    }
    Err(Error::connection(
        "the stream ended before the answer was complete",
    ))
}

/// Starts a run on its own task, its events on a bounded channel. Dropping the
/// stream aborts the task (and so the tools it started).
pub(crate) fn spawn_stream(cfg: Config, state: RunState) -> AgentStream {
    let (tx, rx) = tokio::sync::mpsc::channel(EVENT_BUFFER);
    let err_tx = tx.clone();
    let handle = tokio::spawn(async move {
        if let Err(e) = drive(cfg, state, Some(tx), None, true).await {
            let _ = err_tx.send(Err(e)).await;
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

#[cfg(test)]
mod tests {
    //! Each step of the loop, alone.

    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::Agent;
    use crate::future::BoxFuture;
    use crate::provider::{Capabilities, ChatStream, Model};

    /// Answers each request with the next of its answers.
    struct Answers(Mutex<Vec<ChatResponse>>);

    impl Model for Answers {
        fn name(&self) -> &str {
            "answers"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::all()
        }
        fn chat<'a>(&'a self, _: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
            let next = self.0.lock().ok().map(|mut a| a.remove(0));
            Box::pin(async move { next.ok_or_else(|| Error::config("poisoned")) })
        }
        fn stream<'a>(&'a self, r: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
            Box::pin(async move { Ok(crate::provider::replay_as_stream(self.chat(r).await?)) })
        }
    }

    /// Gives its argument back.
    #[crate::tool]
    fn echo(word: String) -> String {
        word
    }

    /// Notes which call started, waits as long as asked, and notes its end.
    #[crate::tool]
    async fn step(name: String, millis: u64, log: crate::tool::Ctx<Mutex<Vec<String>>>) -> String {
        log.lock().unwrap().push(format!("{name}+"));
        tokio::time::sleep(Duration::from_millis(millis)).await;
        log.lock().unwrap().push(format!("{name}-"));
        name
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_in_order_run_one_after_another_in_call_order() {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let model = Answers(Mutex::new(vec![
            calls(&[
                ("a", "step", r#"{"name": "a", "millis": 60}"#),
                ("b", "step", r#"{"name": "b", "millis": 0}"#),
                ("c", "step", r#"{"name": "c", "millis": 20}"#),
            ]),
            text("done"),
        ]));
        let mut agent = Agent::new(model).tool(Step).tool_mode(ToolMode::Native);
        agent.cfg.toolbox.context_mut().insert_arc(log.clone());
        agent.cfg.tools_in_order = true;
        let run = agent.run("go").await.unwrap();
        assert_eq!(run.final_text.as_deref(), Some("done"));
        assert_eq!(
            *log.lock().unwrap(),
            ["a+", "a-", "b+", "b-", "c+", "c-"],
            "each call starts when the one before ended"
        );
    }

    /// Sleeps long.
    #[crate::tool]
    async fn nap() -> String {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "awake".into()
    }

    fn calls(calls: &[(&str, &str, &str)]) -> ChatResponse {
        ChatResponse {
            tool_calls: calls
                .iter()
                .map(|(id, name, args)| ToolCall::new(*id, *name, *args))
                .collect(),
            ..ChatResponse::default()
        }
    }

    fn text(t: &str) -> ChatResponse {
        ChatResponse {
            content: Some(t.into()),
            ..ChatResponse::default()
        }
    }

    fn runner(agent: &Agent) -> Runner {
        Runner::new(
            agent.cfg.clone(),
            start(&agent.cfg, "go".into()),
            None,
            None,
            false,
        )
        .expect("the runner builds")
    }

    #[test]
    fn the_request_step_picks_the_turn_form_from_the_tool_choice() {
        let model = Answers(Mutex::new(Vec::new()));
        let agent = Agent::new(model)
            .tool(Echo)
            .tool_mode(ToolMode::Constrained)
            .first_tool_choice(ToolChoice::Required)
            .tool_choice_after_tools(ToolChoice::None);
        let mut r = runner(&agent);
        let (req, form) = r.request(0);
        assert_eq!(form, TurnForm::MustCall);
        assert!(matches!(
            req.response_format,
            ResponseFormat::JsonSchema { .. }
        ));
        assert!(
            req.tools.is_empty(),
            "constrained steps carry no native tools"
        );
        r.after_tools = true;
        assert_eq!(r.request(1).1, TurnForm::FinalOnly);
    }

    #[tokio::test]
    async fn the_ask_and_settle_steps_lead_to_tools_or_to_the_end() {
        let model = Answers(Mutex::new(vec![
            calls(&[("a", "echo", r#"{"word": "hi"}"#)]),
            text("done"),
        ]));
        let agent = Agent::new(model).tool(Echo).tool_mode(ToolMode::Native);
        let mut r = runner(&agent);
        let Phase::Settle(answer) = r.ask(0).await else {
            panic!("asking gives an answer to settle")
        };
        let Phase::RunTools { answer, calls } = r.settle(answer).await else {
            panic!("an answer with calls runs tools")
        };
        assert_eq!(calls.len(), 1);
        assert!(matches!(
            r.run_tools(answer, calls).await,
            Phase::Ask { turn: 1 }
        ));
        assert_eq!(
            r.state.messages.len(),
            3,
            "user, assistant calls, tool result"
        );
        let Phase::Settle(answer) = r.ask(1).await else {
            panic!("asking gives an answer")
        };
        let Phase::Over(Ok(run)) = r.settle(answer).await else {
            panic!("a text answer ends the run")
        };
        assert_eq!(run.text(), "done");
        assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("hi"));
    }

    #[tokio::test]
    async fn the_tools_step_stops_at_the_deadline_and_keeps_what_ran() {
        let model = Answers(Mutex::new(vec![calls(&[
            ("a", "echo", r#"{"word": "hi"}"#),
            ("b", "nap", "{}"),
        ])]));
        let agent = Agent::new(model)
            .tool(Echo)
            .tool(Nap)
            .tool_mode(ToolMode::Native)
            .deadline(Duration::from_millis(200));
        let mut r = runner(&agent);
        let Phase::Settle(answer) = r.ask(0).await else {
            panic!("an answer")
        };
        let Phase::RunTools { answer, calls } = r.settle(answer).await else {
            panic!("tools")
        };
        let Phase::Over(Err(e)) = r.run_tools(answer, calls).await else {
            panic!("the deadline ends the run")
        };
        let Ok((stop, run)) = e.into_run() else {
            panic!("an agent error")
        };
        assert!(matches!(stop, AgentStop::Deadline(_)));
        let records = run.tool_calls();
        assert_eq!(
            records[0].result.as_deref(),
            Ok("hi"),
            "the finished call is kept"
        );
        assert!(matches!(
            records[1].result,
            Err(crate::tool::ToolError::Cancelled { .. })
        ));
        // The transcript stays a valid conversation: every call is answered.
        let mut req = ChatRequest::new(run.transcript.clone());
        req.tools = agent.cfg.toolbox.defs();
        assert!(req.check_conversation().is_ok());
    }
}

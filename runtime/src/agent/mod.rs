//! The agent: a tool-calling loop that is typed, parallel, bounded, observable
//! and loses nothing.
//!
//! ```no_run
//! # async fn demo() -> typecall::Result<()> {
//! use typecall::{Agent, tool};
//!
//! /// Get the current weather for a city.
//! #[tool]
//! async fn get_weather(city: String) -> String { format!("Sunny in {city}") }
//!
//! let model = typecall::Cerebras::from_env()?.model("gpt-oss-120b");
//! let run = Agent::new(model).system("Be brief.").tool(GetWeather).run("Weather in Paris?").await?;
//! println!("{} ({} tokens)", run.text(), run.usage().total_tokens);
//! # Ok(()) }
//! ```

mod call_ids;
mod constrained;
mod events;
mod executor;
mod nested;
mod run;
mod text_calls;
mod typed;
mod wire_names;

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::chat::{Message, ToolCall, ToolChoice};
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::provider::{Model, Support};
use crate::tool::{Tool, ToolSet, Toolbox};

pub use crate::error::AgentStop;
pub use crate::record::{NestedRun, Run, ToolCallRecord, ToolMode, TurnRecord};
pub use events::AgentEvent;
pub use nested::AgentTool;

/// What a `before_tool_call` hook decides.
#[derive(Debug, Clone, PartialEq)]
pub enum HookDecision {
    /// Run the call as it is.
    Allow,
    /// Do not run it; the model gets this message as the tool's error.
    Deny(String),
    /// Run this call instead (same id).
    Rewrite(ToolCall),
}

/// The `before_tool_call` hook.
#[derive(Clone)]
pub(crate) enum BeforeHook {
    /// Decides at once, before the call's task starts.
    Sync(Arc<dyn Fn(&ToolCall) -> HookDecision + Send + Sync>),
    /// May wait (a person approving): decides inside the call's own task, so
    /// waiting blocks neither the executor nor a stream.
    Async(Arc<dyn Fn(ToolCall) -> BoxFuture<'static, HookDecision> + Send + Sync>),
}
type AfterHook = Arc<dyn Fn(&TurnRecord) + Send + Sync>;

/// The configuration an agent runs with.
#[derive(Clone)]
pub(crate) struct Config {
    pub model: Arc<dyn Model>,
    pub system: Option<String>,
    pub toolbox: Toolbox,
    pub build_error: Option<Arc<Error>>,
    pub max_turns: u32,
    pub max_parallel_tools: usize,
    /// A turn's calls run one at a time, in call order (durable runs).
    pub tools_in_order: bool,
    pub tool_timeout: Option<Duration>,
    pub token_budget: Option<u64>,
    pub deadline: Option<Duration>,
    pub max_tool_retries: u32,
    pub max_repeated_calls: u32,
    /// The least geometric-mean token probability of a constrained call
    /// the model may leave out.
    pub min_call_confidence: f64,
    pub tool_mode: ToolMode,
    pub first_tool_choice: Option<ToolChoice>,
    pub tool_choice_after_tools: Option<ToolChoice>,
    pub max_tokens: Option<u32>,
    pub strict_tools: bool,
    pub seed: Option<i64>,
    /// Reasoning effort on every request, for reasoning models.
    pub reasoning_effort: Option<crate::chat::ReasoningEffort>,
    pub temperature: Option<f32>,
    pub before_tool_call: Option<BeforeHook>,
    /// `before_tool_call` sees only calls of tools that may destroy.
    pub hook_only_destructive: bool,
    pub after_turn: Option<AfterHook>,
}

impl Config {
    /// [`ToolMode::Auto`] resolved for this model: constrained where native
    /// tool calling is not known to work and the server can hold the answer to
    /// the tools' schemas (any schema through a grammar, or the strict subset
    /// when the decision fits it); native elsewhere.
    pub(crate) fn effective_tool_mode(&self) -> ToolMode {
        match self.tool_mode {
            ToolMode::Auto => {
                let caps = self.model.capabilities();
                let native_reliable = caps.tools == Support::Yes;
                let can_constrain = caps.grammar == Support::Yes
                    || (caps.json_schema == Support::Yes && self.decision_is_strict());
                if !native_reliable && can_constrain && !self.toolbox.is_empty() {
                    ToolMode::Constrained
                } else {
                    ToolMode::Native
                }
            }
            m => m,
        }
    }

    /// Whether this agent's decision schema is in the strict subset
    /// (Cerebras: at most 5 `anyOf` branches, 5,000 characters, …).
    fn decision_is_strict(&self) -> bool {
        let schema =
            constrained::decision_schema(&self.toolbox.defs(), self.max_parallel_tools, false);
        crate::schema::Dialect::Strict.check(&schema).is_ok()
    }
}

/// An agent: a model, a system prompt, tools, context and limits. Cheap to
/// clone; runs do not share state.
///
/// [`Agent::run`] drives the loop to a final answer: the model asks for tool
/// calls, the tools run (in parallel, bounded), their results — or their errors,
/// which the model can act on — go back, until the model answers. The [`Run`]
/// keeps every turn, call and token.
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use serde_json::json;
/// use typecall::{Agent, testing::ScriptedModel, tool};
///
/// /// Get the current temperature in a city, in °C.
/// #[tool]
/// fn temperature(city: String) -> f64 {
///     if city == "Nice" { 21.5 } else { 15.0 }
/// }
///
/// // A scripted model stands in for a real one (Cerebras, OpenAiCompat, …).
/// let model = ScriptedModel::new()
///     .tool_call("temperature", json!({"city": "Nice"}))
///     .text("It is 21.5 °C in Nice.");
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let run = Agent::new(model)
///     .system("Answer with the tools.")
///     .tool(Temperature)
///     .max_turns(4)
///     .run("How warm is it in Nice?")
///     .await
///     .unwrap();
/// assert_eq!(run.text(), "It is 21.5 °C in Nice.");
/// assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("21.5"));
/// # });
/// # }
/// ```
#[derive(Clone)]
pub struct Agent {
    pub(crate) cfg: Config,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("model", &self.cfg.model.name())
            .field("tools", &self.cfg.toolbox.names())
            .field("max_turns", &self.cfg.max_turns)
            .field("tool_mode", &self.cfg.tool_mode)
            .finish_non_exhaustive()
    }
}

/// How sure a model must be of a constrained call it was free not to make,
/// unless [`Agent::min_call_confidence`] says otherwise: e^-0.13, about 0.88
/// per token. Chosen on BFCL ids 20–59 with Qwen2.5-Coder-0.5B, where the
/// calls its opening let through were 108 relevant and 13 not (the mean
/// log-probability tells them apart with AUC 0.83, and the line scores the
/// same from -0.12 to -0.14), when a code fence around the list was weighed
/// too; weighed on the list alone, the calls made on BFCL's held-out ids
/// 100–129 are the same.
pub const DEFAULT_MIN_CALL_CONFIDENCE: f64 = 0.878_095_430_920_561_3;

/// How long a tool call may run unless [`Agent::tool_timeout`] says otherwise.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(300);

/// A stream of [`AgentEvent`]s; the run stops when it is dropped.
pub type AgentStream = Pin<Box<dyn Stream<Item = Result<AgentEvent>> + Send>>;

/// Reads an agent's event stream to its end: the [`Run`] of its
/// [`AgentEvent::Done`], or the error the run ended in (what [`Agent::run`]
/// returns). The events before are dropped; read the stream yourself to show
/// them.
///
/// # Errors
/// The run's error; [`ErrorKind::Connection`](crate::ErrorKind::Connection) if the stream ends without either
/// (a stream that was not an agent's).
pub async fn collect(mut stream: AgentStream) -> Result<Run> {
    use futures_util::StreamExt;
    while let Some(event) = stream.next().await {
        if let AgentEvent::Done(run) = event? {
            return Ok(*run);
        }
    }
    Err(Error::connection(
        "the agent's event stream ended without its run",
    ))
}

impl Agent {
    /// An agent using `model`: at most 8 turns, 4 tools at once, 5 minutes
    /// per tool call, 3 identical tool failures, [`ToolMode::Auto`].
    pub fn new(model: impl Model + 'static) -> Self {
        Self::from_arc(Arc::new(model))
    }

    /// As [`Agent::new`], for a shared model.
    pub fn from_arc(model: Arc<dyn Model>) -> Self {
        Self {
            cfg: Config {
                model,
                system: None,
                toolbox: Toolbox::new(),
                build_error: None,
                max_turns: 8,
                max_parallel_tools: 4,
                tools_in_order: false,
                tool_timeout: Some(DEFAULT_TOOL_TIMEOUT),
                token_budget: None,
                deadline: None,
                max_tool_retries: 3,
                max_repeated_calls: 3,
                min_call_confidence: DEFAULT_MIN_CALL_CONFIDENCE,
                tool_mode: ToolMode::Auto,
                first_tool_choice: None,
                tool_choice_after_tools: None,
                max_tokens: None,
                strict_tools: true,
                seed: None,
                reasoning_effort: None,
                temperature: None,
                before_tool_call: None,
                hook_only_destructive: false,
                after_turn: None,
            },
        }
    }

    fn keep_error(mut self, r: Result<()>) -> Self {
        if let Err(e) = r
            && self.cfg.build_error.is_none()
        {
            self.cfg.build_error = Some(Arc::new(e));
        }
        self
    }

    /// The system prompt.
    pub fn system(mut self, s: impl Into<String>) -> Self {
        self.cfg.system = Some(s.into());
        self
    }
    /// Adds a tool (`#[tool]` generates one per function). A bad tool (a duplicate
    /// name, a schema that cannot be built) makes every run fail with the reason.
    pub fn tool(mut self, t: impl Tool) -> Self {
        let r = self.cfg.toolbox.add(t).map(|_| ());
        self.keep_error(r)
    }
    /// Adds a shared tool.
    pub fn tool_arc(mut self, t: Arc<dyn Tool>) -> Self {
        let r = self.cfg.toolbox.add_arc(t).map(|_| ());
        self.keep_error(r)
    }
    /// Adds every tool of a set (`#[tools]` on an impl block).
    pub fn tools(mut self, set: impl ToolSet) -> Self {
        let r = self.cfg.toolbox.add_set(set).map(|_| ());
        self.keep_error(r)
    }
    /// Adds a context value, handed to tools that take `Ctx<S>` or `&S`.
    pub fn context<S: Send + Sync + 'static>(mut self, state: S) -> Self {
        self.cfg.toolbox.context_mut().insert(state);
        self
    }
    /// The most model requests in a run (default 8).
    pub fn max_turns(mut self, n: u32) -> Self {
        self.cfg.max_turns = n.max(1);
        self
    }
    /// The most tool calls running at once (default 4).
    pub fn max_parallel_tools(mut self, n: usize) -> Self {
        self.cfg.max_parallel_tools = n.max(1);
        self
    }
    /// A time limit for each tool call (default [`DEFAULT_TOOL_TIMEOUT`]);
    /// the model is told the call timed out.
    ///
    /// A timed-out call, like one cut by [`Agent::deadline`], is cancelled: an
    /// `async` tool stops at its next `.await`. A tool marked `blocking` runs on
    /// tokio's blocking pool, where nothing can stop it: the agent stops waiting
    /// for it and goes on, but its thread runs until the function returns (give
    /// such tools their own time limits).
    pub fn tool_timeout(mut self, d: Duration) -> Self {
        self.cfg.tool_timeout = Some(d);
        self
    }
    /// The most tokens (prompt and completion, all turns) a run may spend.
    pub fn token_budget(mut self, tokens: u64) -> Self {
        self.cfg.token_budget = Some(tokens);
        self
    }
    /// A wall-clock limit for a run. It holds while work is in flight: a model
    /// call or a tool batch still running when it passes is cancelled, and the
    /// run ends with [`AgentStop::Deadline`], the [`Run`] so far inside the
    /// error (tools it stopped carry `ToolError::Cancelled`).
    pub fn deadline(mut self, d: Duration) -> Self {
        self.cfg.deadline = Some(d);
        self
    }
    /// How often the same failure of one tool may repeat before the run ends
    /// (default 3).
    pub fn max_tool_retries(mut self, n: u32) -> Self {
        self.cfg.max_tool_retries = n.max(1);
        self
    }
    /// How often the same successful call (one tool, the same arguments) may
    /// be made in a run before the run ends with [`AgentStop::RepeatedCall`]
    /// (default 3): a model that asks again for what it already has is
    /// looping.
    pub fn max_repeated_calls(mut self, n: u32) -> Self {
        self.cfg.max_repeated_calls = n.max(1);
        self
    }
    /// How sure the model must be of calls it was free not to make, in
    /// [`ToolMode::Constrained`] on a server that gives the tokens'
    /// probabilities (llama.cpp): the geometric mean of the probabilities the
    /// model gave the tokens of its grammar-held list of calls (not of a code
    /// fence around it, which llama.cpp reports in a whole answer but not in
    /// a stream: streamed or not, a list is weighed the same), from 0 to 1
    /// (default [`DEFAULT_MIN_CALL_CONFIDENCE`], about 0.88). Calls written
    /// less sure are not made, as if the model had answered in words: a
    /// grammar makes a small model call something even where no tool fits,
    /// and what it then writes (a place the user never named) it writes
    /// unsure. `0.0` makes every such call. Turns that must call a tool
    /// ([`ToolChoice::Required`]) are not weighed. A value outside 0..=1 is
    /// clamped; NaN leaves the setting as it was.
    pub fn min_call_confidence(mut self, p: f64) -> Self {
        if !p.is_nan() {
            self.cfg.min_call_confidence = p.clamp(0.0, 1.0);
        }
        self
    }
    /// How tool calls are asked for.
    pub fn tool_mode(mut self, m: ToolMode) -> Self {
        self.cfg.tool_mode = m;
        self
    }
    /// `tool_choice` for the first turn (e.g. [`ToolChoice::Required`]).
    pub fn first_tool_choice(mut self, c: ToolChoice) -> Self {
        self.cfg.first_tool_choice = Some(c);
        self
    }
    /// `tool_choice` for the turns that follow tool results (e.g.
    /// [`ToolChoice::None`] for one round of tool use).
    pub fn tool_choice_after_tools(mut self, c: ToolChoice) -> Self {
        self.cfg.tool_choice_after_tools = Some(c);
        self
    }
    /// A token limit per model answer. In `ToolMode::Constrained` it bounds
    /// the calls of one turn too: calls cut by it end the run with
    /// [`AgentStop::CallsCut`].
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.cfg.max_tokens = Some(n);
        self
    }
    /// Whether tool definitions go out with `strict: true` (their schemas are
    /// strict either way). On by default; turn it off for servers that reject
    /// the flag.
    pub fn strict_tools(mut self, yes: bool) -> Self {
        self.cfg.strict_tools = yes;
        self
    }
    /// How hard a reasoning model thinks, on every request.
    pub fn reasoning_effort(mut self, e: crate::chat::ReasoningEffort) -> Self {
        self.cfg.reasoning_effort = Some(e);
        self
    }

    /// A seed for every request.
    pub fn seed(mut self, s: i64) -> Self {
        self.cfg.seed = Some(s);
        self
    }
    /// A temperature for every request.
    pub fn temperature(mut self, t: f32) -> Self {
        self.cfg.temperature = Some(t);
        self
    }
    /// Sees each tool call before it runs: allow, deny (the model is told why),
    /// or rewrite it. For a decision that waits (a person approving), use
    /// [`Agent::before_tool_call_async`].
    pub fn before_tool_call(
        mut self,
        f: impl Fn(&ToolCall) -> HookDecision + Send + Sync + 'static,
    ) -> Self {
        self.cfg.before_tool_call = Some(BeforeHook::Sync(Arc::new(f)));
        self
    }

    /// Sees each tool call before it runs, and may wait: the place for a human
    /// approval step. Each call waits in its own task, so other calls, the
    /// model's stream and the executor go on meanwhile; the run's deadline
    /// still holds while it waits.
    ///
    /// ```
    /// use typecall::agent::HookDecision;
    /// # fn demo(agent: typecall::Agent) -> typecall::Agent {
    /// agent.before_tool_call_async(|call| async move {
    ///     // e.g. ask a person over a channel, then decide
    ///     if call.name == "delete_everything" {
    ///         HookDecision::Deny("not allowed".into())
    ///     } else {
    ///         HookDecision::Allow
    ///     }
    /// })
    /// # }
    /// ```
    pub fn before_tool_call_async<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = HookDecision> + Send + 'static,
    {
        self.cfg.before_tool_call = Some(BeforeHook::Async(Arc::new(move |call: ToolCall| {
            Box::pin(f(call)) as BoxFuture<'static, HookDecision>
        })));
        self
    }
    /// Routes only the calls of tools that may destroy through the
    /// `before_tool_call` hook (sync or async); the others run without asking.
    /// A tool may destroy unless its [`annotations`](crate::tool::Tool::annotations)
    /// say read-only or not destructive (MCP's reading of the hints, so a
    /// remote tool without hints asks; `#[tool(read_only)]` does not).
    ///
    /// ```
    /// use typecall::agent::HookDecision;
    /// # fn agent(a: typecall::Agent) -> typecall::Agent {
    /// a.approve_only_destructive()
    ///     .before_tool_call(|call| HookDecision::Deny(format!("`{}` needs a person's approval", call.name)))
    /// # }
    /// ```
    pub fn approve_only_destructive(mut self) -> Self {
        self.cfg.hook_only_destructive = true;
        self
    }
    /// Sees each turn once it is done.
    pub fn after_turn(mut self, f: impl Fn(&TurnRecord) + Send + Sync + 'static) -> Self {
        self.cfg.after_turn = Some(Arc::new(f));
        self
    }

    /// The tool mode a run uses with this model.
    pub fn effective_tool_mode(&self) -> ToolMode {
        self.cfg.effective_tool_mode()
    }

    fn check(&self) -> Result<()> {
        match self.cfg.build_error.as_deref() {
            Some(e) => Err(Error::config(format!(
                "the agent could not be built: {}",
                e.config_message()
                    .map_or_else(|| e.to_string(), str::to_owned)
            ))),
            None => Ok(()),
        }
    }

    /// Runs the agent on a user message.
    ///
    /// # Errors
    /// [`ErrorKind::Agent`](crate::ErrorKind::Agent) when a limit is hit or the model fails mid-run — it
    /// carries the whole [`Run`] so far; [`ErrorKind::Config`](crate::ErrorKind::Config) for an agent that
    /// could not be built.
    pub async fn run(&self, input: impl Into<String>) -> Result<Run> {
        self.check()?;
        run::drive(
            self.cfg.clone(),
            run::start(&self.cfg, input.into()),
            None,
            None,
            false,
        )
        .await
    }

    /// Continues a stored conversation (`run.transcript`) with a new user message.
    ///
    /// # Errors
    /// As [`Agent::run`].
    pub async fn resume(&self, transcript: Vec<Message>, input: impl Into<String>) -> Result<Run> {
        self.check()?;
        let state = run::resume(transcript, input.into());
        run::drive(self.cfg.clone(), state, None, None, false).await
    }

    /// One model turn on a user message: the tool calls the model makes, read
    /// and mapped back to the tools' names as a run would (from the
    /// provider's calls, a constrained decision, or calls written as text),
    /// but not run. What an evaluation needs; the answer text when the model
    /// called nothing (in [`ToolMode::Constrained`] only the decision is
    /// asked for, so the text is then `None`).
    ///
    /// ```
    /// # #[cfg(feature = "testing")] {
    /// use serde_json::json;
    /// use typecall::{Agent, ToolMode, testing::ScriptedModel, tool::FnTool};
    ///
    /// let factorial = FnTool::new(
    ///     "math.factorial",
    ///     "The factorial of a number.",
    ///     json!({"type": "object", "properties": {"number": {"type": "integer"}}, "required": ["number"]}),
    ///     |_| async { Ok::<_, String>(json!(120)) },
    /// ).unwrap();
    /// // A small model that writes its call as text instead of making it.
    /// let model = ScriptedModel::new()
    ///     .text("```json\n{\"name\": \"math.factorial\", \"arguments\": {\"number\": 5}}\n```");
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let agent = Agent::new(model).tool(factorial).tool_mode(ToolMode::Native);
    /// let decision = agent.decide("5!?").await.unwrap();
    /// assert_eq!(decision.calls[0].name, "math.factorial");
    /// assert_eq!(decision.calls[0].arguments, r#"{"number":5}"#);
    /// # });
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Agent::run`] for the model's own failure; a turn that ends the run
    /// otherwise (a required call not made) is a [`Decision`] with its
    /// `problem`.
    pub async fn decide(&self, input: impl Into<String>) -> Result<Decision> {
        self.check()?;
        run::decide(self.cfg.clone(), run::start(&self.cfg, input.into()), None).await
    }

    /// As [`Agent::decide`], after a stored conversation (its system prompt
    /// included).
    ///
    /// # Errors
    /// As [`Agent::decide`].
    pub async fn decide_after(
        &self,
        transcript: Vec<Message>,
        input: impl Into<String>,
    ) -> Result<Decision> {
        self.check()?;
        run::decide(
            self.cfg.clone(),
            run::resume(transcript, input.into()),
            None,
        )
        .await
    }

    /// Runs the agent, streaming what happens. A tool call starts as soon as its
    /// arguments are complete. Dropping the stream stops the run and its tools.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an agent that could not be built; the stream yields
    /// the errors [`Agent::run`] returns.
    pub async fn run_stream(&self, input: impl Into<String>) -> Result<AgentStream> {
        self.check()?;
        Ok(run::spawn_stream(
            self.cfg.clone(),
            run::start(&self.cfg, input.into()),
        ))
    }

    /// The agent with a typed final answer: [`TypedAgent::run`] returns a
    /// validated `T` (and the [`Run`]).
    ///
    /// How the model answers: in [`ToolMode::Native`] the agent adds a
    /// `final_answer` tool whose arguments are `T` (its strict schema), and the
    /// run ends when the model calls it with arguments that validate; a plain
    /// JSON text answer that validates is taken too. In
    /// [`ToolMode::Constrained`] the answer after a decision without calls is
    /// held to `T`'s schema (and the last turn asks for it directly). An
    /// answer that does not validate goes back to the model with every issue
    /// (JSON pointer and what is expected) — a repair round — and the same
    /// failure [`max_tool_retries`](Agent::max_tool_retries) times ends the run
    /// with [`AgentStop::ToolLoop`]; on the last turn the `final_answer` call is
    /// forced.
    ///
    /// ```
    /// # #[cfg(feature = "testing")] {
    /// use serde_json::json;
    /// use typecall::{Agent, testing::ScriptedModel, tool};
    ///
    /// /// The square root of a number.
    /// #[tool]
    /// fn square_root(number: f64) -> f64 { number.sqrt() }
    ///
    /// /// What the agent found.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Answer { root: f64, exact: bool }
    ///
    /// // Script the model: a tool call, a wrong final answer (a string where a
    /// // number belongs), then a right one after the repair round.
    /// let model = ScriptedModel::new()
    ///     .tool_call("square_root", json!({"number": 9}))
    ///     .tool_call("final_answer", json!({"root": "three", "exact": true}))
    ///     .tool_call("final_answer", json!({"root": 3.0, "exact": true}));
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let out = Agent::new(model).tool(SquareRoot).output::<Answer>().run("√9?").await.unwrap();
    /// assert_eq!(out.value.root, 3.0);
    /// assert_eq!(out.run.turns().len(), 3); // the tool, the repair, the answer
    /// # });
    /// # }
    /// ```
    pub fn output<T: DeserializeOwned + schemars::JsonSchema + Send + 'static>(
        &self,
    ) -> TypedAgent<T> {
        TypedAgent {
            agent: self.clone(),
            _t: PhantomData,
        }
    }

    /// This agent as a tool of another agent: it takes `{"task": "…"}` and
    /// answers with its final text. Its run keeps its own limits; its usage and
    /// transcript are recorded in the outer run.
    pub fn as_tool(&self, name: impl Into<String>, description: impl Into<String>) -> AgentTool {
        AgentTool::new(self.clone(), name.into(), description.into())
    }
}

/// What a model decided in one turn ([`Agent::decide`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Decision {
    /// The calls it made, under the tools' own names (not run).
    pub calls: Vec<ToolCall>,
    /// Its answer text, when it called nothing.
    pub text: Option<String>,
    /// The turn's record (tokens, finish reason, text).
    pub turn: Option<TurnRecord>,
    /// The tool mode the turn was asked in.
    pub mode: ToolMode,
    /// Why the answer could not be read or was refused, if so (a malformed
    /// decision, a required call not made).
    pub problem: Option<String>,
}

/// An agent whose final answer is a `T`.
pub struct TypedAgent<T> {
    agent: Agent,
    _t: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for TypedAgent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedAgent")
            .field("agent", &self.agent)
            .finish()
    }
}

/// A typed answer and the run that produced it.
#[derive(Debug, Clone)]
pub struct Output<T> {
    /// The validated answer.
    pub value: T,
    /// Everything that happened.
    pub run: Run,
}

impl<T: DeserializeOwned + schemars::JsonSchema + Send + 'static> TypedAgent<T> {
    /// Runs the agent until it gives a `T`.
    ///
    /// # Errors
    /// As [`Agent::run`]; a final answer that never validates ends as
    /// [`AgentStop::MaxTurns`].
    pub async fn run(&self, input: impl Into<String>) -> Result<Output<T>> {
        self.agent.check()?;
        let typed = typed::Typed::of::<T>()?;
        let mut cfg = self.agent.cfg.clone();
        typed.install(&mut cfg)?;
        let state = run::start(&cfg, input.into());
        let run = run::drive(cfg, state, None, Some(typed), false).await?;
        let value = run
            .output
            .clone()
            .ok_or_else(|| Error::config("the run ended without a typed answer"))
            .and_then(|v| {
                serde_json::from_value(v).map_err(|e| {
                    Error::config(format!("the typed answer could not be read back: {e}"))
                })
            })?;
        Ok(Output { value, run })
    }
}

//! Structured output: ask for a `T`, get a validated `T`.
//!
//! ```no_run
//! # async fn demo(model: &impl typecall::Model) -> typecall::Result<()> {
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Invoice { number: String, total_cents: u64, due: Option<String> }
//!
//! let invoice: Invoice = typecall::extract(model, "Invoice F-17, total 129.00 EUR").await?;
//! # Ok(()) }
//! ```
//!
//! [`Extract`] chooses how to ask ([`OutputMode`]), decodes the answer
//! ([`decode`]: reasoning dropped, JSON found in fences or prose, validated
//! against the full schema), and repairs: a failed answer goes back to the
//! model with every issue, up to `retries` times. Every attempt is kept.

pub mod decode;
mod partial;
mod typed;

use std::marker::PhantomData;
use std::pin::Pin;

use futures_core::Stream;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::chat::{
    ChatRequest, ChatResponse, Message, ResponseFormat, StreamEvent, ToolChoice, Usage,
};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::{Capabilities, Model, Support};
use crate::schema::{Dialect, Schema, schema_for};
use crate::tool::ToolDef;

pub use crate::record::{Attempt, OutputMode};
pub use decode::AnswerError;
pub use partial::PartialJson;
pub use typed::{__partial, Partial};

impl OutputMode {
    /// The modes `Auto` tries for a model, best first.
    pub fn candidates(caps: &Capabilities, streaming: bool) -> Vec<OutputMode> {
        let rank = |s: Support| match s {
            Support::Yes => 0,
            Support::Unknown => 1,
            Support::Flaky => 2,
            Support::No => 3,
        };
        let stream_penalty = if streaming && caps.structured_streaming == Support::No {
            3
        } else {
            0
        };
        let mut modes = vec![
            (
                OutputMode::Native,
                rank(caps.json_schema) + stream_penalty,
                0,
            ),
            (
                OutputMode::Tool,
                rank(caps.tools).max(rank(caps.tool_choice_required)) + stream_penalty,
                1,
            ),
            (OutputMode::JsonMode, rank(caps.json_mode), 2),
            (OutputMode::Prompted, 1, 3),
        ];
        modes.retain(|(_, r, _)| *r < 3);
        modes.sort_by_key(|(_, r, order)| (*r, *order));
        modes.into_iter().map(|(m, _, _)| m).collect()
    }
}

/// A successful extraction: the value and everything that led to it.
#[derive(Debug, Clone)]
pub struct Extraction<T> {
    /// The validated value.
    pub value: T,
    /// Every attempt, the successful one last.
    pub attempts: Vec<Attempt>,
    /// Tokens spent over all attempts.
    pub usage: Usage,
    /// The mode that produced the value.
    pub mode: OutputMode,
}

/// What was asked: a text, or whole messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A user message.
    Text(String),
    /// The conversation (its system messages are kept, the extraction's own
    /// system prompt goes first).
    Messages(Vec<Message>),
}

impl From<&str> for Input {
    fn from(s: &str) -> Self {
        Input::Text(s.to_owned())
    }
}
impl From<String> for Input {
    fn from(s: String) -> Self {
        Input::Text(s)
    }
}
impl From<&String> for Input {
    fn from(s: &String) -> Self {
        Input::Text(s.clone())
    }
}
impl From<Vec<Message>> for Input {
    fn from(m: Vec<Message>) -> Self {
        Input::Messages(m)
    }
}

/// Extracts a `T` from `input` with the default settings (mode `Auto`, two
/// repairs).
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// /// A meeting.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct Meeting {
///     /// Who meets.
///     people: Vec<String>,
///     /// When, as written.
///     when: String,
/// }
///
/// let model = typecall::Cerebras::from_env()?.model("gpt-oss-120b");
/// let m: Meeting = typecall::extract(&model, "Ada and Alan meet Tuesday at 10.").await?;
/// println!("{m:?}");
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::Extraction`] with every attempt when no answer validated; the
/// provider's error when a request fails.
pub async fn extract<T, M>(model: &M, input: impl Into<Input>) -> Result<T>
where
    T: DeserializeOwned + schemars::JsonSchema + 'static,
    M: Model,
{
    Ok(Extract::<T>::new(model).run(input).await?.value)
}

/// Extracts a list of `Item`s, streamed: each item is decoded as soon as its
/// closing bracket arrives.
///
/// ```
/// # #[cfg(feature = "testing")] {
/// /// A city.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct City { name: String }
///
/// let model = typecall::testing::ScriptedModel::new()
///     .text(r#"{"value": [{"name": "Paris"}, {"name": "Lyon"}]}"#);
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cities: Vec<City> = typecall::extract_many(&model, "Cities of France?").await.unwrap();
/// assert_eq!(cities[1].name, "Lyon");
/// # });
/// # }
/// ```
///
/// # Errors
/// As [`extract`].
pub async fn extract_many<Item, M>(model: &M, input: impl Into<Input>) -> Result<Vec<Item>>
where
    Item: DeserializeOwned + schemars::JsonSchema + Send + 'static,
    M: Model,
{
    let mut items = Vec::new();
    let mut s = Extract::<Vec<Item>>::new(model)
        .stream_items::<Item>(input)
        .await?;
    while let Some(item) = s.next().await {
        items.push(item?);
    }
    Ok(items)
}

/// An event of a streamed extraction.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ExtractEvent<T> {
    /// The value so far (see [`PartialJson`]), in the full shape: settled
    /// parts, the elements of lists once each is complete
    /// ([`PartialJson::complete_items`]), and other strings as far as they
    /// arrived. [`ExtractEvent::partial`] reads it with `T`'s field names and
    /// types.
    ///
    /// Order: a chunk's `Partial` comes before its
    /// [`Settled`](ExtractEvent::Settled) events. It is shown when the value
    /// changed and either the answer grew by an eighth since the last one, or
    /// a part settled while the answer is at most 1 KiB, or the value is
    /// complete: in answers up to 1 KiB every settled part is in the
    /// `Partial` just before it, and a long answer costs time linear in its
    /// length.
    Partial(Value),
    /// A part of the answer whose closing bracket has arrived (an object, a
    /// list, or a list element): it will not change any more. `pointer` is its
    /// JSON pointer in the answer as sent (a wrapped root is under `/value`).
    Settled {
        /// Where it is.
        pointer: String,
        /// The settled value.
        value: Value,
        /// What is wrong inside it, checked against its part of the full schema
        /// (empty when it is valid). Open parts are not judged yet, nor parts
        /// whose schema the pointer alone does not tell (inside a map, or a
        /// union of several shapes): the final validation judges every part.
        issues: Vec<crate::schema::ValidationIssue>,
    },
    /// The validated value.
    Done(Box<Extraction<T>>),
}

impl<T> ExtractEvent<T> {
    /// For a [`Partial`](ExtractEvent::Partial) event, the value so far as
    /// `T`'s partial shape (`#[derive(typecall::Partial)]`): its own field
    /// names and types, each `None` until it has arrived.
    pub fn partial(&self) -> Option<T::Shape>
    where
        T: Partial,
    {
        match self {
            ExtractEvent::Partial(v) => Some(T::partial(v)),
            _ => None,
        }
    }
}

/// A stream of [`ExtractEvent`]s.
pub type ExtractStream<'a, T> = Pin<Box<dyn Stream<Item = Result<ExtractEvent<T>>> + Send + 'a>>;

/// A stream of list items.
pub type ItemStream<'a, Item> = Pin<Box<dyn Stream<Item = Result<Item>> + Send + 'a>>;

/// The extraction builder: ask for a `T`, get a validated `T` back, with the
/// mode, repairs and dialect under your control, blocking or streamed.
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use typecall::{Extract, OutputMode, testing::ScriptedModel};
///
/// /// An invoice.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct Invoice {
///     number: String,
///     total_cents: u64,
/// }
///
/// // The first answer breaks the schema (a negative total): it goes back with
/// // the issue, and the second one validates.
/// let model = ScriptedModel::new()
///     .text(r#"{"number": "F-17", "total_cents": -1}"#)
///     .text(r#"{"number": "F-17", "total_cents": 12900}"#);
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let out = Extract::<Invoice>::new(&model)
///     .mode(OutputMode::Native)
///     .retries(2)
///     .run("Invoice F-17, 129.00 EUR")
///     .await
///     .unwrap();
/// assert_eq!(out.value.total_cents, 12900);
/// assert_eq!(out.attempts.len(), 2);
/// assert!(out.attempts[0].error.as_deref().unwrap().contains("/total_cents"));
/// # });
/// # }
/// ```
pub struct Extract<'m, T> {
    model: &'m (dyn Model + 'm),
    system: Option<String>,
    mode: OutputMode,
    retries: u32,
    dialect: Dialect,
    name: Option<String>,
    max_tokens: Option<u32>,
    seed: Option<i64>,
    temperature: Option<f32>,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Extract<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extract")
            .field("model", &self.model.name())
            .field("mode", &self.mode)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

const TOOL_NAME: &str = "final_answer";

impl<'m, T> Extract<'m, T>
where
    T: DeserializeOwned + schemars::JsonSchema + 'static,
{
    /// An extraction with `model`: mode `Auto`, two repairs, the strict dialect.
    pub fn new<M: Model>(model: &'m M) -> Self {
        Self::with_dyn(model)
    }

    /// As [`Extract::new`], for a `dyn Model`.
    pub fn with_dyn(model: &'m (dyn Model + 'm)) -> Self {
        Self {
            model,
            system: None,
            mode: OutputMode::Auto,
            retries: 2,
            dialect: Dialect::Strict,
            name: None,
            max_tokens: None,
            seed: None,
            temperature: None,
            _t: PhantomData,
        }
    }

    /// A system prompt.
    pub fn system(mut self, s: impl Into<String>) -> Self {
        self.system = Some(s.into());
        self
    }
    /// How to ask.
    pub fn mode(mut self, m: OutputMode) -> Self {
        self.mode = m;
        self
    }
    /// How many repair rounds after the first answer.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
    /// The schema dialect (default [`Dialect::Strict`]).
    pub fn dialect(mut self, d: Dialect) -> Self {
        self.dialect = d;
        self
    }
    /// The schema's name in the request (default: the type's name).
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.name = Some(n.into());
        self
    }
    /// A token limit per answer.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// A seed.
    pub fn seed(mut self, s: i64) -> Self {
        self.seed = Some(s);
        self
    }
    /// A temperature.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    fn schema(&self) -> Result<&'static Schema> {
        Ok(schema_for::<T>(self.dialect)?)
    }

    fn schema_name(&self, schema: &Schema) -> String {
        self.name.clone().unwrap_or_else(|| {
            schema
                .name()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
    }

    /// The first request of `mode`.
    fn request(&self, mode: OutputMode, schema: &Schema, input: &Input) -> ChatRequest {
        let schema_text = serde_json::to_string(schema.as_json()).unwrap_or_default();
        let instruction = match mode {
            OutputMode::JsonMode | OutputMode::Prompted => Some(format!(
                "Reply with only a JSON value that matches this JSON Schema, and nothing else:\n{schema_text}"
            )),
            _ => None,
        };
        let mut messages = Vec::new();
        let system = match (&self.system, &instruction) {
            (Some(s), Some(i)) => Some(format!("{s}\n\n{i}")),
            (Some(s), None) => Some(s.clone()),
            (None, Some(i)) => Some(i.clone()),
            (None, None) => None,
        };
        if let Some(s) = system {
            messages.push(Message::system(s));
        }
        match input {
            Input::Text(t) => messages.push(Message::user(t.clone())),
            Input::Messages(m) => messages.extend(m.iter().cloned()),
        }
        let mut req = ChatRequest::new(messages);
        req.max_tokens = self.max_tokens;
        req.seed = self.seed;
        req.temperature = self.temperature;
        match mode {
            OutputMode::Native | OutputMode::Auto => {
                req.response_format = ResponseFormat::json_schema(self.schema_name(schema), schema);
            }
            OutputMode::JsonMode => req.response_format = ResponseFormat::JsonObject,
            OutputMode::Tool => {
                let def = ToolDef::from_schema(
                    TOOL_NAME,
                    "Give the final answer: call this with the answer as arguments.",
                    schema,
                );
                req = req.tool(def).tool_choice(ToolChoice::Required);
            }
            OutputMode::Prompted => {}
        }
        req
    }

    /// The answer's text (Tool mode: the tool call's arguments).
    fn raw_answer(mode: OutputMode, resp: &ChatResponse) -> String {
        if mode == OutputMode::Tool
            && let Some(call) = resp
                .tool_calls
                .iter()
                .find(|c| c.name == TOOL_NAME)
                .or(resp.tool_calls.first())
        {
            return call.arguments.clone();
        }
        resp.text().to_owned()
    }

    /// Adds the failed answer and the repair request to the conversation.
    fn add_repair(
        mode: OutputMode,
        req: &mut ChatRequest,
        resp: &ChatResponse,
        error: &AnswerError,
    ) {
        let prompt = decode::repair_prompt(error);
        match (mode, resp.tool_calls.first()) {
            (OutputMode::Tool, Some(call)) => {
                req.messages
                    .push(Message::assistant_tool_calls(resp.tool_calls.clone()));
                for c in &resp.tool_calls {
                    let text = if c.id == call.id {
                        prompt.clone()
                    } else {
                        "Not used.".to_owned()
                    };
                    req.messages.push(Message::tool_result(c, text));
                }
            }
            _ => {
                req.messages
                    .push(Message::assistant(resp.text().to_owned()));
                req.messages.push(Message::user(prompt));
            }
        }
    }

    /// Judges one answer: records the attempt, and gives the value when it
    /// validated; otherwise adds the repair round to `req`.
    fn judge(
        mode: OutputMode,
        schema: &Schema,
        req: &mut ChatRequest,
        resp: &ChatResponse,
        attempts: &mut Vec<Attempt>,
    ) -> Option<T> {
        let raw = Self::raw_answer(mode, resp);
        match decode::decode_answer::<T>(schema, &raw) {
            Ok(value) => {
                attempts.push(Attempt {
                    mode,
                    raw,
                    error: None,
                    usage: resp.usage.clone(),
                });
                Some(value)
            }
            Err(err) => {
                attempts.push(Attempt {
                    mode,
                    raw,
                    error: Some(err.to_string()),
                    usage: resp.usage.clone(),
                });
                Self::add_repair(mode, req, resp, &err);
                None
            }
        }
    }

    /// Judges `resp`; while it does not validate and repairs remain, sends the
    /// repair round and judges the new answer. `Ok(None)` when none validated.
    async fn repair_rounds(
        &self,
        mode: OutputMode,
        schema: &Schema,
        req: &mut ChatRequest,
        mut resp: ChatResponse,
        attempts: &mut Vec<Attempt>,
        usage: &mut Usage,
    ) -> Result<Option<T>> {
        for round in 0..=self.retries {
            if round > 0 {
                resp = self.model.chat(req).await?;
                usage.add(&resp.usage);
            }
            if let Some(value) = Self::judge(mode, schema, req, &resp, attempts) {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// Runs the extraction.
    ///
    /// # Errors
    /// [`ErrorKind::Extraction`] with every attempt (raw answers included) when no
    /// answer validated; the provider's error when a request fails (other than
    /// a mode refused as unsupported under `Auto`, which falls back).
    pub async fn run(self, input: impl Into<Input>) -> Result<Extraction<T>> {
        let input = input.into();
        let schema = self.schema()?;
        let modes = match self.mode {
            OutputMode::Auto => OutputMode::candidates(&self.model.capabilities(), false),
            m => vec![m],
        };
        let mut attempts = Vec::new();
        let mut usage = Usage::default();
        let mut last_refusal = None;
        for (i, mode) in modes.iter().copied().enumerate() {
            let mut req = self.request(mode, schema, &input);
            let first = match self.model.chat(&req).await {
                Ok(r) => r,
                Err(e)
                    if self.mode == OutputMode::Auto
                        && i + 1 < modes.len()
                        && is_unsupported(&e) =>
                {
                    attempts.push(Attempt {
                        mode,
                        raw: String::new(),
                        error: Some(format!("refused, falling back: {e}")),
                        usage: Usage::default(),
                    });
                    last_refusal = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            usage.add(&first.usage);
            if let Some(value) = self
                .repair_rounds(mode, schema, &mut req, first, &mut attempts, &mut usage)
                .await?
            {
                return Ok(Extraction {
                    value,
                    attempts,
                    usage,
                    mode,
                });
            }
            // The mode worked but the answers did not validate: do not switch modes.
            break;
        }
        if attempts.iter().all(|a| a.raw.is_empty())
            && let Some(e) = last_refusal
        {
            return Err(e);
        }
        Err(Error::extraction(schema.name().to_owned(), attempts))
    }

    /// Streams the extraction: partial values as the answer arrives, then the
    /// validated value. A failed answer is repaired (blocking) as in
    /// [`Extract::run`].
    ///
    /// # Errors
    /// The stream yields the errors [`Extract::run`] returns.
    pub async fn stream(self, input: impl Into<Input>) -> Result<ExtractStream<'m, T>>
    where
        T: Send,
    {
        let input = input.into();
        let schema = self.schema()?;
        let mode = match self.mode {
            OutputMode::Auto => OutputMode::candidates(&self.model.capabilities(), true)
                .first()
                .copied()
                .unwrap_or(OutputMode::Prompted),
            m => m,
        };
        let req = self.request(mode, schema, &input);
        let events = self.model.stream(&req).await?;
        let state = StreamState {
            extract: self,
            schema,
            mode,
            req,
            events,
            parser: PartialJson::new(),
            shown_version: None,
            fed: 0,
            fed_at_partial: 0,
            pending: std::collections::VecDeque::new(),
            done: false,
        };
        Ok(Box::pin(futures_util::stream::unfold(
            state,
            StreamState::next,
        )))
    }

    /// Streams the items of a list (`T = Vec<Item>`), each as soon as its
    /// closing bracket arrives, validated against the item's schema.
    ///
    /// # Errors
    /// The provider's error; the stream yields an [`ErrorKind::Extraction`] when an
    /// item or the whole answer does not validate.
    pub async fn stream_items<Item>(self, input: impl Into<Input>) -> Result<ItemStream<'m, Item>>
    where
        Item: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        T: Send,
    {
        let item_schema = schema_for::<Item>(Dialect::JsonSchema)?;
        let wrapped = self.schema()?.is_wrapped();
        let prefix = if wrapped { "/value/" } else { "/" };
        let inner = self.retries(0).stream(input).await?;
        let state = ItemState {
            inner,
            item_schema,
            prefix,
            emitted: 0,
            pending: std::collections::VecDeque::new(),
            done: false,
        };
        Ok(Box::pin(futures_util::stream::unfold(
            state,
            ItemState::next,
        )))
    }
}

/// Whether a provider error says the mode is not supported (so `Auto` may fall back).
fn is_unsupported(e: &Error) -> bool {
    match (e.kind(), e.api_error()) {
        (ErrorKind::Unsupported, _) => true,
        (ErrorKind::BadRequest, Some(api)) => {
            let m = api.message.to_lowercase();
            m.contains("not supported") || m.contains("unsupported") || m.contains("not support")
        }
        _ => false,
    }
}

struct StreamState<'m, T> {
    extract: Extract<'m, T>,
    schema: &'static Schema,
    mode: OutputMode,
    req: ChatRequest,
    events: crate::provider::ChatStream,
    parser: PartialJson,
    /// The parser version of the last `Partial` shown.
    shown_version: Option<u64>,
    /// Answer bytes fed to the parser, in all and when the last `Partial` was shown.
    fed: usize,
    fed_at_partial: usize,
    pending: std::collections::VecDeque<ExtractEvent<T>>,
    done: bool,
}

/// A `Partial` is shown when the answer grew by at least 1/`PARTIAL_GROWTH` of
/// its length since the last one: each copy of the value is paid for by the
/// bytes that came before it, so a streamed extraction stays linear.
const PARTIAL_GROWTH: usize = 8;

/// Up to this many answer bytes, every chunk in which a part settles shows a
/// `Partial` first (its cost is bounded by this size squared, a constant).
const SHORT_ANSWER: usize = 1 << 10;

impl<'m, T> StreamState<'m, T>
where
    T: DeserializeOwned + schemars::JsonSchema + Send + 'static,
{
    async fn next(mut self) -> Option<(Result<ExtractEvent<T>>, Self)> {
        if let Some(ev) = self.pending.pop_front() {
            return Some((Ok(ev), self));
        }
        if self.done {
            return None;
        }
        while let Some(ev) = self.events.next().await {
            match ev {
                Err(e) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
                Ok(StreamEvent::TextDelta(t)) if self.mode != OutputMode::Tool => {
                    self.fed = self.fed.saturating_add(t.len());
                    self.parser.push(&t)
                }
                Ok(StreamEvent::ToolCallArgumentsDelta { index: 0, delta })
                    if self.mode == OutputMode::Tool =>
                {
                    self.fed = self.fed.saturating_add(delta.len());
                    self.parser.push(&delta)
                }
                Ok(StreamEvent::Done(resp)) => {
                    self.done = true;
                    let result = self.finish(*resp).await;
                    return Some((result.map(|x| ExtractEvent::Done(Box::new(x))), self));
                }
                Ok(_) => continue,
            }
            // The value so far, when it changed and grew enough since the last
            // one shown (or, in a short answer, a part settled); then the parts
            // that settled, each judged alone.
            let settled = self.parser.take_settled();
            let grown = (self.fed - self.fed_at_partial).saturating_mul(PARTIAL_GROWTH);
            let short_and_settled = !settled.is_empty() && self.fed <= SHORT_ANSWER;
            if self.shown_version != Some(self.parser.version())
                && (grown >= self.fed || self.parser.is_complete() || short_and_settled)
                && let Some(v) = self.parser.complete_items()
            {
                self.shown_version = Some(self.parser.version());
                self.fed_at_partial = self.fed;
                let partial = self.schema.from_wire(v);
                self.pending.push_back(ExtractEvent::Partial(partial));
            }
            for pointer in settled {
                if let Some(value) = self.parser.value().and_then(|v| v.pointer(&pointer)) {
                    let issues = self.schema.part_issues(&pointer, value).unwrap_or_default();
                    let value = value.clone();
                    self.pending.push_back(ExtractEvent::Settled {
                        pointer,
                        value,
                        issues,
                    });
                }
            }
            if let Some(ev) = self.pending.pop_front() {
                return Some((Ok(ev), self));
            }
        }
        self.done = true;
        Some((
            Err(Error::connection(
                "the stream ended before the answer was complete",
            )),
            self,
        ))
    }

    async fn finish(&mut self, resp: ChatResponse) -> Result<Extraction<T>> {
        let mode = self.mode;
        let mut attempts = Vec::new();
        let mut usage = resp.usage.clone();
        match self
            .extract
            .repair_rounds(
                mode,
                self.schema,
                &mut self.req,
                resp,
                &mut attempts,
                &mut usage,
            )
            .await?
        {
            Some(value) => Ok(Extraction {
                value,
                attempts,
                usage,
                mode,
            }),
            None => Err(Error::extraction(self.schema.name().to_owned(), attempts)),
        }
    }
}

struct ItemState<'m, T, Item> {
    inner: ExtractStream<'m, T>,
    item_schema: &'static Schema,
    prefix: &'static str,
    emitted: usize,
    pending: std::collections::VecDeque<Result<Item>>,
    done: bool,
}

impl<T, Item> ItemState<'_, T, Item>
where
    Item: DeserializeOwned + Send + 'static,
{
    async fn next(mut self) -> Option<(Result<Item>, Self)> {
        loop {
            if let Some(x) = self.pending.pop_front() {
                return Some((x, self));
            }
            if self.done {
                return None;
            }
            match self.inner.next().await {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    self.pending.push_back(Err(e));
                }
                Some(Ok(ExtractEvent::Settled { pointer, value, .. })) => {
                    let index = pointer
                        .strip_prefix(self.prefix)
                        .and_then(|i| i.parse::<usize>().ok());
                    if index == Some(self.emitted) {
                        self.push_item(value);
                    }
                }
                Some(Ok(ExtractEvent::Done(extraction))) => {
                    self.done = true;
                    // Items that only a repaired answer gave.
                    if let Some(last) = extraction.attempts.last()
                        && let Ok(v) = decode::extract_json(&last.raw)
                    {
                        let list = if self.prefix == "/value/" {
                            v.get("value").cloned()
                        } else {
                            Some(v)
                        };
                        if let Some(Value::Array(items)) = list {
                            for item in items.into_iter().skip(self.emitted) {
                                self.push_item(item);
                            }
                        }
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    }

    fn push_item(&mut self, item: Value) {
        self.pending
            .push_back(self.item_schema.decode::<Item>(item).map_err(Error::from));
        self.emitted += 1;
    }
}

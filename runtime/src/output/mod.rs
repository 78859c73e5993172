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
mod stream;
pub(crate) mod typed;

use std::marker::PhantomData;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::chat::{ChatRequest, ChatResponse, Message, ResponseFormat, ToolChoice, Usage};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::{Capabilities, Model, Support};
use crate::schema::{Dialect, Schema, schema_for};
use crate::tool::ToolDef;

pub use crate::record::{Attempt, OutputMode};
pub use decode::AnswerError;
pub use partial::PartialJson;
pub use stream::{ExtractEvent, ExtractStream, ItemStream};
use stream::{ItemState, StreamState};
pub use typed::Partial;

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

//! A streamed extraction: its events, and the states that read a model's
//! stream into partial values, the validated value, or list items.

use std::pin::Pin;

use futures_core::Stream;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Extract, Extraction, OutputMode, Partial, PartialJson, decode};
use crate::chat::{ChatRequest, ChatResponse, StreamEvent};
use crate::error::{Error, Result};
use crate::schema::Schema;

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

pub(super) struct StreamState<'m, T> {
    pub(super) extract: Extract<'m, T>,
    pub(super) schema: &'static Schema,
    pub(super) mode: OutputMode,
    pub(super) req: ChatRequest,
    pub(super) events: crate::provider::ChatStream,
    pub(super) parser: PartialJson,
    /// The parser version of the last `Partial` shown.
    pub(super) shown_version: Option<u64>,
    /// Answer bytes fed to the parser, in all and when the last `Partial` was shown.
    pub(super) fed: usize,
    pub(super) fed_at_partial: usize,
    pub(super) pending: std::collections::VecDeque<ExtractEvent<T>>,
    pub(super) done: bool,
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
    pub(super) async fn next(mut self) -> Option<(Result<ExtractEvent<T>>, Self)> {
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

pub(super) struct ItemState<'m, T, Item> {
    pub(super) inner: ExtractStream<'m, T>,
    pub(super) item_schema: &'static Schema,
    pub(super) prefix: &'static str,
    pub(super) emitted: usize,
    pub(super) pending: std::collections::VecDeque<Result<Item>>,
    pub(super) done: bool,
}

impl<T, Item> ItemState<'_, T, Item>
where
    Item: DeserializeOwned + Send + 'static,
{
    pub(super) async fn next(mut self) -> Option<(Result<Item>, Self)> {
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

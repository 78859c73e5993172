//! A live streamed answer: the response body read chunk by chunk into a
//! provider's [`Decode`]r, within the idle timeout, the stream deadline and the
//! body limit, shown whole to an observer at the end. Shared by every
//! provider; only the decoder knows the wire format.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use serde_json::Value;

use super::ChatStream;
use super::http::{
    ApiKey, Body, ExchangeObserver, HttpClient, Response, connection_error, too_large,
};
use crate::chat::{ChatResponse, StreamEvent};
use crate::error::{Error, Result};

/// Reads a provider's stream format: bytes in, [`StreamEvent`]s out, ending
/// with [`StreamEvent::Done`] or an error.
pub(crate) trait Decode: Send + 'static {
    /// Reads more bytes; appends the events they complete to `out`.
    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>);
    /// The body ended.
    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>);
    /// Ends the stream with `error`.
    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>);
    /// Whether the stream is over: answered, or failed.
    fn is_done(&self) -> bool;
}

/// Reads a whole recorded or received stream body with `decoder` into the
/// answer a blocking call would give.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn decode_whole(mut decoder: impl Decode, body: &[u8]) -> Result<ChatResponse> {
    let mut events = VecDeque::new();
    decoder.push(body, &mut events);
    decoder.finish(&mut events);
    for event in events {
        if let StreamEvent::Done(response) = event? {
            return Ok(*response);
        }
    }
    Err(Error::connection(
        "the stream ended before the answer was complete",
    ))
}

/// The events of a successful streamed response, read by `decoder`;
/// `on_done` sees the final answer (for the span's usage fields).
pub(crate) fn event_stream<D: Decode>(
    http: &HttpClient,
    url: String,
    body: Body,
    resp: Response,
    decoder: D,
    key: Option<ApiKey>,
    on_done: fn(&ChatResponse),
) -> ChatStream {
    let record = http.observer.as_ref().map(|o| Recording {
        observer: o.clone(),
        url,
        body: body.json.unwrap_or_default(),
        status: resp.status,
        headers: resp.owned_headers(),
        raw: Vec::new(),
    });
    let state = StreamState {
        body: Box::pin(resp.inner.bytes_stream()),
        decoder,
        on_done,
        pending: VecDeque::new(),
        idle_timeout: http.timeout,
        deadline: tokio::time::Instant::now() + http.limits.stream_deadline.min(CENTURY),
        timer: Box::pin(tokio::time::sleep(http.timeout.min(CENTURY))),
        stream_deadline: http.limits.stream_deadline,
        received: 0,
        max_body_bytes: http.limits.max_body_bytes,
        key,
        record,
        span: tracing::Span::current(),
    };
    Box::pin(futures_util::stream::unfold(state, next_event))
}

struct Recording {
    observer: Arc<dyn ExchangeObserver>,
    url: String,
    body: Value,
    status: u16,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
}

/// A bound for user-set durations added to an `Instant` (which would overflow
/// at `Duration::MAX`).
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

struct StreamState<D> {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    decoder: D,
    /// Given the final answer, inside the request's span.
    on_done: fn(&ChatResponse),
    pending: VecDeque<Result<StreamEvent>>,
    /// The longest silence between two chunks.
    idle_timeout: Duration,
    /// When the whole stream must have ended, keep-alives or not.
    deadline: tokio::time::Instant,
    /// The timer for the silence between chunks and the deadline.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    stream_deadline: Duration,
    /// Body bytes so far, against `max_body_bytes`.
    received: usize,
    max_body_bytes: usize,
    key: Option<ApiKey>,
    record: Option<Recording>,
    span: tracing::Span,
}

impl<D: Decode> StreamState<D> {
    /// Once the decoder is done: the span gets the usage, the observer the
    /// whole exchange.
    fn settle(&mut self) {
        if !self.decoder.is_done() {
            return;
        }
        if let Some(Ok(StreamEvent::Done(response))) = self.pending.back() {
            let _entered = self.span.enter();
            (self.on_done)(response);
        }
        if let Some(r) = self.record.take() {
            let exchange = super::http::Exchange {
                method: "POST".into(),
                url: r.url,
                request_body: Some(r.body),
                status: r.status,
                headers: r.headers,
                body: String::from_utf8_lossy(&r.raw).into_owned(),
            };
            r.observer
                .on_exchange(super::http::scrubbed(exchange, self.key.as_ref()));
        }
    }
}

async fn next_event<D: Decode>(
    mut s: StreamState<D>,
) -> Option<(Result<StreamEvent>, StreamState<D>)> {
    loop {
        if let Some(ev) = s.pending.pop_front() {
            return Some((ev, s));
        }
        if s.decoder.is_done() {
            return None;
        }
        let idle = tokio::time::Instant::now() + s.idle_timeout.min(CENTURY);
        let (wake, limit) = if idle < s.deadline {
            (idle, s.idle_timeout)
        } else {
            (s.deadline, s.stream_deadline)
        };
        // One timer for the whole stream, re-armed per chunk (a chunk that is
        // already there is taken without touching it).
        s.timer.as_mut().reset(wake);
        let next = tokio::select! {
            biased;
            item = s.body.next() => Ok(item),
            () = s.timer.as_mut() => Err(()),
        };
        match next {
            Err(()) => s.decoder.fail(Error::timeout(limit), &mut s.pending),
            Ok(Some(Ok(bytes))) => {
                s.received = s.received.saturating_add(bytes.len());
                if s.received > s.max_body_bytes {
                    s.decoder.fail(
                        too_large("the streamed response", s.max_body_bytes, "max_body_bytes"),
                        &mut s.pending,
                    );
                } else {
                    if let Some(r) = &mut s.record {
                        r.raw.extend_from_slice(&bytes);
                    }
                    s.decoder.push(&bytes, &mut s.pending);
                }
            }
            Ok(Some(Err(e))) => {
                let err = connection_error(e, s.key.as_ref())
                    .in_context("the stream broke before the answer was complete");
                s.decoder.fail(err, &mut s.pending);
            }
            Ok(None) => s.decoder.finish(&mut s.pending),
        }
        s.settle();
    }
}

/// A stream format of JSON server-sent events (Anthropic, Gemini, OpenAI
/// Responses): what one event does to the answer.
pub(crate) trait JsonEvents: Send + 'static {
    /// Applies one event (its `data`, JSON to read as the protocol's typed
    /// event), appending stream events to `out`; `Some` with the whole
    /// answer when the event ends it.
    ///
    /// # Errors
    /// The provider's error event, or a malformed one.
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>>;

    /// The body ended without an ending event: the answer if what arrived is
    /// complete.
    ///
    /// # Errors
    /// [`ErrorKind::Connection`](crate::ErrorKind::Connection) when the answer was cut short.
    fn at_end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse>;
}

/// Reads JSON server-sent events into a [`JsonEvents`] handler, within
/// [`Limits::max_event_bytes`](super::Limits::max_event_bytes).
pub(crate) struct SseJson<H> {
    parser: super::sse::SseParser,
    events: Vec<super::sse::SseEvent>,
    handler: H,
    max_event_bytes: usize,
    done: bool,
}

impl<H: JsonEvents> SseJson<H> {
    /// A decoder feeding `handler`.
    pub(crate) fn new(handler: H, limits: &super::Limits) -> Self {
        Self {
            parser: super::sse::SseParser::new(),
            events: Vec::new(),
            handler,
            max_event_bytes: limits.max_event_bytes,
            done: false,
        }
    }

    fn handle(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        let mut events = std::mem::take(&mut self.events);
        for e in events.drain(..) {
            if self.done {
                break;
            }
            let data = e.data.trim();
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            if data.len() > self.max_event_bytes {
                self.fail(oversized_event(self.max_event_bytes), out);
                break;
            }
            match self.handler.event(data, out) {
                Ok(None) => {}
                Ok(Some(response)) => {
                    self.done = true;
                    out.push_back(Ok(StreamEvent::Done(Box::new(response))));
                }
                Err(err) => self.fail(err, out),
            }
        }
        self.events = events;
    }
}

/// A stream the SSE parser could not read (its message says where).
pub(crate) fn malformed_stream(parser_error: String) -> Error {
    Error::protocol("an event stream", &parser_error)
}

/// A whole server-sent event past `max` bytes.
pub(crate) fn oversized_event(max: usize) -> Error {
    too_large("a server-sent event", max, "max_event_bytes")
}

/// An event still arriving (or one line of it) past `max` bytes.
pub(crate) fn oversized_line(max: usize) -> Error {
    too_large(
        "a server-sent event (or a line of one)",
        max,
        "max_event_bytes",
    )
}

impl<H: JsonEvents> Decode for SseJson<H> {
    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        if self.done {
            return;
        }
        let pushed = self.parser.push(bytes, &mut self.events);
        if let Err(e) = pushed {
            self.events.clear();
            return self.fail(malformed_stream(e), out);
        }
        self.handle(out);
        if !self.done && self.parser.buffered() > self.max_event_bytes {
            self.fail(oversized_line(self.max_event_bytes), out);
        }
    }

    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if self.done {
            return;
        }
        if let Err(e) = self.parser.finish(&mut self.events) {
            self.events.clear();
            return self.fail(malformed_stream(e), out);
        }
        self.handle(out);
        if self.done {
            return;
        }
        self.done = true;
        let end = self.handler.at_end(out);
        out.push_back(end.map(|r| StreamEvent::Done(Box::new(r))));
    }

    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.done = true;
        out.push_back(Err(error));
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

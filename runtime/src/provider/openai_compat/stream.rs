//! Chat completions, reading a stream: SSE bytes → [`StreamEvent`]s, each
//! chunk read as a typed [`Completion`] borrowing from the event, tool-call
//! pieces put in their call's slot.

use std::collections::VecDeque;

use serde_json::Value;

use crate::chat::{ChunkDelta, MetaNeeded, StreamAccumulator, StreamEvent, ToolCallDelta};
use crate::error::{Error, Result};
use crate::provider::http::{
    ApiKey, Limits, error_status_in_text, status_error, too_many_tool_calls,
};
use crate::provider::sse::{SseEvent, SseParser};
use crate::provider::streaming::{Decode, malformed_stream, oversized_event, oversized_line};

use crate::provider::lenient::Obj;

use super::decode::{
    Completion, WireFunction, cited_pages, executed_tools, logprobs_of, page_citations,
};

/// What one SSE data payload was. (Not boxed: it lives for one chunk, on the
/// stack, and a box would be an allocation per chunk.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Chunk {
    /// A delta, and for each of its tool-call pieces the `index` the server
    /// wrote (`None` when it wrote none).
    Delta(ChunkDelta, Vec<Option<u64>>),
    /// An error inside the stream: its status (the body's `status_code` wins) and JSON.
    Error(u16, String),
}

/// Parses one SSE data payload of a streamed answer. `need`: what the answer
/// still lacks of its id, model and system fingerprint (read once, not copied
/// out of every chunk).
pub(crate) fn parse_chunk(data: &str, http_status: u16, need: MetaNeeded) -> Result<Chunk> {
    let chunk: Completion<'_> = match serde_json::from_str(data) {
        Ok(Obj(Some(c))) => c,
        // JSON that is not an object is no chunk of ours: skipped.
        Ok(Obj(None)) => return Ok(Chunk::Delta(ChunkDelta::default(), Vec::new())),
        Err(e) => return Err(Error::protocol(format!("a stream chunk ({e})"), data)),
    };
    if chunk.error.is_some_and(|e| e.get() != "null") {
        // Typed by the number or name it carries (`error_status_in`).
        let fallback = if http_status >= 400 { http_status } else { 500 };
        let status = error_status_in_text(data, fallback);
        return Ok(Chunk::Error(status, data.to_owned()));
    }
    let mut wire_indices = Vec::new();
    let mut d = ChunkDelta::default();
    // Perplexity repeats its search and sources in every chunk: the last
    // word stands.
    if let Some(search) = chunk.search() {
        d.server_tools.push((0, search));
    }
    if chunk
        .citations
        .is_some_and(|c| c.get() != "[]" && c.get() != "null")
    {
        d.citations = chunk.citations();
    }
    if need.ids {
        d.id = chunk.id.owned();
        d.model = chunk.model.owned();
    }
    if need.fingerprint {
        d.system_fingerprint = chunk.system_fingerprint.owned();
    }
    if let Some(u) = &chunk.usage.0 {
        d.usage = Some(u.usage(&chunk.time_info));
    } else if let Some(u) = chunk.x_groq.0.as_ref().and_then(|x| x.usage.0.as_ref()) {
        d.usage = Some(u.usage(&Default::default()));
    } else if let Some(t) = &chunk.timings.0 {
        d.usage = Some(t.usage());
    }
    if let Some(choice) = chunk.choices {
        if let Some(mut delta) = choice.delta.0 {
            if let Some(e) = delta
                .executed_tools
                .filter(|e| e.get() != "null")
                .and_then(|e| serde_json::from_str::<Value>(e.get()).ok())
            {
                d.server_tools = executed_tools(&e);
            }
            d.citations
                .extend(page_citations(&cited_pages(&delta.annotations)));
            (d.content, d.reasoning) = delta.content_and_reasoning();
            for c in delta.tool_calls.0 {
                wire_indices.push(c.index.0);
                let f = c.function.0;
                d.tool_calls.push(ToolCallDelta {
                    // Set by the decoder's `CallSlots` from the wire identity.
                    index: 0,
                    id: c.id.owned(),
                    name: f
                        .as_ref()
                        .and_then(|f| f.name.0.as_deref())
                        .map(str::to_owned),
                    arguments: f.as_ref().and_then(WireFunction::arguments),
                });
            }
        }
        d.finish_reason = choice.finish_reason.owned();
        d.logprobs = choice.logprobs.and_then(logprobs_of);
    }
    Ok(Chunk::Delta(d, wire_indices))
}

/// Which call of the answer a streamed tool-call piece belongs to, whatever the
/// server's numbering: indices that start at 1 or jump (`u64::MAX` included),
/// no index at all (one whole call per chunk), or one index reused for calls
/// with different ids. Calls get dense positions 0, 1, 2, … in the order they
/// first appear, at most `max` of them.
#[derive(Debug)]
pub(crate) struct CallSlots {
    /// (wire index, position) for servers that number their calls.
    by_index: Vec<(u64, usize)>,
    /// The id each position was given, if any.
    ids: Vec<Option<String>>,
    max: usize,
}

impl CallSlots {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            by_index: Vec::new(),
            ids: Vec::new(),
            max,
        }
    }

    /// The position of a piece with this wire index, id and name; `None` when
    /// it would be call number `max + 1`.
    pub(crate) fn position(
        &mut self,
        wire_index: Option<u64>,
        id: Option<&str>,
        has_name: bool,
    ) -> Option<usize> {
        let id = id.filter(|i| !i.is_empty());
        let known = match wire_index {
            Some(w) => self
                .by_index
                .iter()
                .find(|(wi, _)| *wi == w)
                .map(|(_, p)| *p),
            None => self.ids.len().checked_sub(1),
        };
        let same_call = known.filter(|&p| {
            let had = self.ids.get(p).and_then(Option::as_deref);
            match (wire_index, had, id) {
                // A new id under a known index or after the last call: a new call.
                (_, Some(old), Some(new)) => old == new,
                // No index, no id, but a name: the start of another whole call.
                (None, _, None) => !has_name,
                _ => true,
            }
        });
        let position = match same_call {
            Some(p) => p,
            None => {
                if self.ids.len() >= self.max {
                    return None;
                }
                self.ids.push(None);
                let p = self.ids.len() - 1;
                if let Some(w) = wire_index {
                    match self.by_index.iter_mut().find(|(wi, _)| *wi == w) {
                        Some(entry) => entry.1 = p,
                        None => self.by_index.push((w, p)),
                    }
                }
                p
            }
        };
        if let (Some(slot), Some(id)) = (self.ids.get_mut(position), id)
            && slot.is_none()
        {
            *slot = Some(id.to_owned());
        }
        Some(position)
    }
}

/// Reads a streamed answer: SSE bytes in, [`StreamEvent`]s out, ending with
/// [`StreamEvent::Done`] or an error. The one reader of streams, for live
/// responses and whole recorded bodies alike.
pub(crate) struct StreamDecoder {
    parser: SseParser,
    /// Reused buffers: the events of a push, and a chunk's stream events.
    sse_events: Vec<SseEvent>,
    scratch: Vec<StreamEvent>,
    slots: CallSlots,
    max_event_bytes: usize,
    /// `None` once the stream is over (answered or failed).
    accumulator: Option<StreamAccumulator>,
    http_status: u16,
    model: String,
    key: Option<ApiKey>,
    /// Reads one event's data (chat completions' chunks by default).
    parse: ChunkParser,
}

/// Reads one SSE data payload of a stream into a [`Chunk`]: its data, the
/// answer's HTTP status, and what the answer still lacks of its identity.
pub(crate) type ChunkParser = fn(&str, u16, MetaNeeded) -> Result<Chunk>;

impl StreamDecoder {
    /// A decoder for a response with this status, for `model`, within the
    /// provider's `limits` on events and tool calls; `key` is redacted from
    /// errors.
    pub(crate) fn new(
        accumulator: StreamAccumulator,
        http_status: u16,
        model: String,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self {
        Self {
            parser: SseParser::new(),
            sse_events: Vec::new(),
            scratch: Vec::new(),
            slots: CallSlots::new(limits.max_tool_calls),
            max_event_bytes: limits.max_event_bytes,
            accumulator: Some(accumulator),
            http_status,
            model,
            key,
            parse: parse_chunk,
        }
    }

    /// The same decoder, reading each event with `parse` (a wire format
    /// whose events are not chat-completions chunks but assemble the same
    /// way: Cloudflare's).
    pub(crate) fn with_parser(mut self, parse: ChunkParser) -> Self {
        self.parse = parse;
        self
    }
}

impl crate::provider::streaming::Decode for StreamDecoder {
    fn is_done(&self) -> bool {
        self.accumulator.is_none()
    }

    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = std::mem::take(&mut self.sse_events);
        let pushed = self.parser.push(bytes, &mut events);
        match pushed {
            Ok(()) => self.handle(&mut events, out),
            Err(e) => {
                self.sse_events = events;
                return self.fail(malformed_stream(e), out);
            }
        }
        events.clear();
        self.sse_events = events;
        if !self.is_done() && self.parser.buffered() > self.max_event_bytes {
            self.fail(oversized_line(self.max_event_bytes), out);
        }
    }

    /// The body ended: the answer is complete after `[DONE]`, or once the
    /// provider said why it stopped; otherwise the stream broke.
    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = Vec::new();
        if let Err(e) = self.parser.finish(&mut events) {
            return self.fail(malformed_stream(e), out);
        }
        self.handle(&mut events, out);
        match &self.accumulator {
            None => {}
            Some(acc) if acc.is_finished() => self.end(out),
            Some(_) => self.fail(
                Error::connection("the stream ended before the answer was complete"),
                out,
            ),
        }
    }

    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.accumulator = None;
        out.push_back(Err(error));
    }
}

impl StreamDecoder {
    fn end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if let Some(acc) = self.accumulator.take() {
            let (events, response) = acc.finish();
            out.extend(events.into_iter().map(Ok));
            out.push_back(Ok(StreamEvent::Done(Box::new(response))));
        }
    }

    fn handle(&mut self, events: &mut Vec<SseEvent>, out: &mut VecDeque<Result<StreamEvent>>) {
        for e in events.drain(..) {
            let data = e.data.trim();
            if data == "[DONE]" {
                return self.end(out);
            }
            if data.is_empty() {
                continue;
            }
            let Some(acc) = &mut self.accumulator else {
                return;
            };
            if data.len() > self.max_event_bytes {
                return self.fail(oversized_event(self.max_event_bytes), out);
            }
            match (self.parse)(data, self.http_status, acc.needs_meta()) {
                Ok(Chunk::Delta(mut d, wire_indices)) => {
                    for (tc, wire_index) in d.tool_calls.iter_mut().zip(wire_indices) {
                        if tc.is_empty() {
                            continue;
                        }
                        let has_name = tc.name.as_deref().is_some_and(|n| !n.is_empty());
                        match self.slots.position(wire_index, tc.id.as_deref(), has_name) {
                            Some(p) => tc.index = p,
                            None => {
                                let max = self.slots.max;
                                return self.fail(too_many_tool_calls(max), out);
                            }
                        }
                    }
                    acc.push_into(d, &mut self.scratch);
                    out.extend(self.scratch.drain(..).map(Ok));
                }
                Ok(Chunk::Error(status, body)) => {
                    let err = status_error(
                        status,
                        &body,
                        &self.model,
                        Default::default(),
                        None,
                        self.key.as_ref(),
                    );
                    return self.fail(err, out);
                }
                Err(e) => return self.fail(e, out),
            }
        }
    }
}

/// Reads a whole streamed chat-completions answer (SSE bytes) into the
/// [`ChatResponse`](crate::chat::ChatResponse) a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the
/// provider's error for an error event, [`ErrorKind::Connection`](crate::ErrorKind::Connection)
/// for a stream that ends before the answer does.
#[cfg(any(test, feature = "testing"))]
pub fn parse_chat_stream(body: &[u8]) -> Result<crate::chat::ChatResponse> {
    let decoder = StreamDecoder::new(
        crate::chat::StreamAccumulator::default(),
        200,
        String::new(),
        None,
        &Limits::default(),
    );
    crate::provider::streaming::decode_whole(decoder, body)
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use super::StreamDecoder;
    use crate::chat::StreamAccumulator;

    use crate::fuzzing::*;

    fn tool_call_piece() -> impl Strategy<Value = String> {
        (
            prop_oneof![
                Just(String::new()),
                (0u64..4).prop_map(|i| format!("\"index\": {i},")),
                Just("\"index\": 18446744073709551615,".to_owned()),
                Just("\"index\": -1,".to_owned()),
                Just("\"index\": 1e300,".to_owned()),
            ],
            prop_oneof![
                Just(String::new()),
                "[ab]".prop_map(|id| format!("\"id\": \"{id}\",")),
                Just("\"id\": null,".to_owned()),
            ],
            prop_oneof![
                Just(String::new()),
                Just("\"name\": \"f\",".to_owned()),
                Just("\"name\": \"f\", \"name\": 3,".to_owned()),
            ],
            prop_oneof![
                Just("{\\\"x\\\": 1}".to_owned()),
                Just("{\\\"x\\\":".to_owned()),
                Just(" 2}".to_owned()),
                Just(String::new()),
            ],
        )
            .prop_map(|(index, id, name, args)| {
                format!(
                    "{{{index}{id}\"type\": \"function\", \"function\": {{{name}\"arguments\": \"{args}\"}}}}"
                )
            })
    }

    fn stream_chunk() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z ]{0,12}".prop_map(|t| format!(
                r#"{{"id":"c","model":"m","choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}"#
            )),
            Just(r#"{"choices":[{"delta":{"content":"<think>hm</th"}}]}"#.to_owned()),
            proptest::collection::vec(tool_call_piece(), 1..4).prop_map(|p| format!(
                r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{}]}}}}]}}"#,
                p.join(",")
            )),
            Just(r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":18446744073709551615,"total_tokens":-4}}"#.to_owned()),
            Just(r#"{"error":{"message":"boom"},"status_code":99999}"#.to_owned()),
            Just(r#"{"citations":["u",3,null],"search_results":[{"url":"u","title":1},5,{"url":null}],"choices":[{"delta":{"content":"a[1]"}}]}"#.to_owned()),
            Just(r#"{"citations":"u","search_results":{"url":"u"}}"#.to_owned()),
            Just(r#"{"choices":[{"delta":{"annotations":[{"type":"url_citation","url":3},{"type":"url_citation","url_citation":{"url":"u"}},"x"],"audio":{"data":"!!"}}}]}"#.to_owned()),
            Just("[DONE]".to_owned()),
            jsonish(),
        ]
    }

    #[test]
    fn fuzz_stream_decoder() {
        crate::fuzzing::fuzz_stream_decoder(
            "stream_decoder",
            stream_chunk(),
            0..12,
            1..6,
            |c| format!("data: {c}\n\n"),
            |limits| {
                StreamDecoder::new(StreamAccumulator::default(), 200, "m".into(), None, limits)
            },
        );
    }
}

//! Streaming: the events a stream yields, and the accumulator that turns
//! provider deltas into events and, at the end, into the same
//! [`ChatResponse`] a blocking call gives.

use serde::{Deserialize, Serialize};

use super::message::ToolCall;
use super::response::{ChatResponse, FinishReason, RateLimits, TokenLogprob, Usage};
use super::think::{Piece, ThinkSplitter, separate_reasoning};

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StreamEvent {
    /// More answer text.
    TextDelta(String),
    /// More reasoning.
    ReasoningDelta(String),
    /// A tool call began.
    ToolCallStarted {
        /// Its position among the turn's calls.
        index: usize,
        /// Its id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// More of a tool call's arguments.
    ToolCallArgumentsDelta {
        /// Its position among the turn's calls.
        index: usize,
        /// The new text.
        delta: String,
    },
    /// A tool call's arguments are complete: it can run now, while the model
    /// may still be streaming the rest of the turn.
    ToolCallReady {
        /// Its position among the turn's calls.
        index: usize,
        /// The whole call.
        call: ToolCall,
    },
    /// A job the provider runs before it answers (an image being made) moved
    /// on: its status as the provider names it (`Pending`), and how far along
    /// it is, from 0 to 1, when the provider says.
    Progress {
        /// The job's status.
        status: String,
        /// How much is done, from 0 to 1.
        fraction: Option<f64>,
    },
    /// The end: the whole answer, equal to what the blocking call gives.
    Done(Box<ChatResponse>),
}

/// A provider-neutral piece of a streamed answer (one chunk's choice delta).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChunkDelta {
    /// The completion id.
    pub id: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The system fingerprint.
    pub system_fingerprint: Option<String>,
    /// More content.
    pub content: Option<String>,
    /// More reasoning (the provider's reasoning field).
    pub reasoning: Option<String>,
    /// Tool call pieces.
    pub tool_calls: Vec<ToolCallDelta>,
    /// The finish reason, on the last chunk.
    pub finish_reason: Option<String>,
    /// Usage, on the last chunk.
    pub usage: Option<Usage>,
    /// Log probabilities of this chunk's tokens.
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// Provider-side tool calls, by position (a later piece for a position
    /// replaces the earlier one: it has the results).
    pub server_tools: Vec<(usize, crate::chat::ServerToolCall)>,
    /// More citations (one equal to a citation already given is not given
    /// twice: Perplexity repeats its whole list in every chunk).
    pub citations: Vec<crate::chat::Citation>,
}

/// A piece of a tool call, assembled by `index`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolCallDelta {
    /// Which call: its position among the answer's calls, from 0 (providers
    /// map their own numbering onto positions). An index past the next free
    /// position opens the next call: positions never have gaps, so a wild index
    /// cannot make the accumulator allocate.
    pub index: usize,
    /// Its id (first piece).
    pub id: Option<String>,
    /// The tool name (first piece).
    pub name: Option<String>,
    /// More argument text.
    pub arguments: Option<String>,
}

impl ToolCallDelta {
    /// Whether the piece carries nothing (no id, name or argument text).
    pub fn is_empty(&self) -> bool {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(str::is_empty);
        blank(&self.id) && blank(&self.name) && blank(&self.arguments)
    }
}

/// What a streamed answer still lacks of its identity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetaNeeded {
    /// Its id or model.
    pub ids: bool,
    /// Its system fingerprint.
    pub fingerprint: bool,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    started: bool,
    ready: bool,
}

/// Turns [`ChunkDelta`]s into [`StreamEvent`]s and, at the end, a
/// [`ChatResponse`]. Work is linear in the bytes received.
#[derive(Debug, Default)]
pub struct StreamAccumulator {
    id: String,
    model: String,
    system_fingerprint: Option<String>,
    content: String,
    saw_content: bool,
    reasoning: String,
    think: ThinkSplitter,
    calls: Vec<PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    logprobs: Option<Vec<TokenLogprob>>,
    rate_limits: RateLimits,
    inference_id: Option<String>,
    /// Reused for the think splitter's output.
    pieces: Vec<Piece>,
    /// Provider-side tool calls, by position.
    server_tools: Vec<(usize, crate::chat::ServerToolCall)>,
    citations: Vec<crate::chat::Citation>,
}

impl StreamAccumulator {
    /// A new accumulator; `rate_limits` and `inference_id` come from the
    /// response headers.
    pub fn new(rate_limits: RateLimits, inference_id: Option<String>) -> Self {
        Self {
            rate_limits,
            inference_id,
            ..Self::default()
        }
    }

    /// What the answer still lacks of its id, model and system fingerprint
    /// (the first chunks that carry them are read; later copies are not).
    pub(crate) fn needs_meta(&self) -> MetaNeeded {
        MetaNeeded {
            ids: self.id.is_empty() || self.model.is_empty(),
            fingerprint: self.system_fingerprint.is_none(),
        }
    }

    /// Whether the provider has said why it stopped.
    pub fn is_finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    /// Feeds one delta; returns the events it produced.
    pub fn push(&mut self, d: ChunkDelta) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        self.push_into(d, &mut events);
        events
    }

    /// As [`StreamAccumulator::push`], appending the events to `events` (a
    /// buffer the caller reuses: no allocation per chunk).
    pub(crate) fn push_into(&mut self, d: ChunkDelta, events: &mut Vec<StreamEvent>) {
        if let Some(id) = d.id
            && self.id.is_empty()
        {
            self.id = id;
        }
        if let Some(m) = d.model
            && self.model.is_empty()
        {
            self.model = m;
        }
        if d.system_fingerprint.is_some() {
            self.system_fingerprint = d.system_fingerprint;
        }
        if let Some(r) = d.reasoning.filter(|r| !r.is_empty()) {
            self.reasoning.push_str(&r);
            events.push(StreamEvent::ReasoningDelta(r));
        }
        if let Some(c) = d.content {
            self.saw_content = true;
            self.content.push_str(&c);
            self.think.push_owned(c, &mut self.pieces);
            events.extend(self.pieces.drain(..).map(piece_event));
        }
        for tc in d.tool_calls {
            self.push_tool_call(tc, events);
        }
        if let Some(l) = d.logprobs {
            self.logprobs.get_or_insert_with(Vec::new).extend(l);
        }
        for (index, call) in d.server_tools {
            let known = self.server_tools.len();
            match self.server_tools.iter().position(|(i, _)| *i == index) {
                Some(p) => {
                    if let Some(slot) = self.server_tools.get_mut(p) {
                        slot.1 = call;
                    }
                }
                // Bounded like the tool calls: a server numbering past a
                // thousand positions is not believed.
                None if known < 1024 => self.server_tools.push((index, call)),
                None => {}
            }
        }
        for c in d.citations {
            // Bounded like the server tools; a repeat adds nothing.
            if self.citations.len() < 1024 && !self.citations.contains(&c) {
                self.citations.push(c);
            }
        }
        if let Some(u) = d.usage {
            self.usage = Some(u);
        }
        if let Some(f) = d.finish_reason {
            self.finish_reason = Some(f);
        }
    }

    fn push_tool_call(&mut self, tc: ToolCallDelta, events: &mut Vec<StreamEvent>) {
        if tc.is_empty() {
            return; // carries nothing: no call is opened for it
        }
        let index = tc.index.min(self.calls.len());
        // A piece for a later call means the earlier ones are complete.
        for i in 0..index {
            self.mark_ready(i, events);
        }
        if index == self.calls.len() {
            self.calls.push(PartialCall::default());
        }
        let Some(call) = self.calls.get_mut(index) else {
            return;
        };
        if let Some(id) = tc.id.filter(|s| !s.is_empty()) {
            call.id = id;
        }
        if let Some(name) = tc.name.filter(|s| !s.is_empty()) {
            // Some servers repeat the whole name in every piece: a piece that
            // starts with the name so far replaces it rather than doubling it.
            if name.starts_with(call.name.as_str()) {
                call.name = name;
            } else {
                call.name.push_str(&name);
            }
        }
        if !call.started && !call.name.is_empty() {
            call.started = true;
            events.push(StreamEvent::ToolCallStarted {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
        }
        if let Some(a) = tc.arguments.filter(|a| !a.is_empty()) {
            call.arguments.push_str(&a);
            events.push(StreamEvent::ToolCallArgumentsDelta { index, delta: a });
        }
        // A complete JSON object cannot be continued: the call is ready now.
        let complete = !call.ready
            && call.arguments.trim_end().ends_with('}')
            && serde_json::from_str::<serde::de::IgnoredAny>(&call.arguments).is_ok();
        if call.started && complete {
            self.mark_ready(index, events);
        }
    }

    fn mark_ready(&mut self, index: usize, events: &mut Vec<StreamEvent>) {
        if let Some(call) = self.calls.get_mut(index)
            && !call.ready
            && call.started
        {
            call.ready = true;
            events.push(StreamEvent::ToolCallReady {
                index,
                call: ToolCall::new(call.id.clone(), call.name.clone(), call.arguments.clone()),
            });
        }
    }

    /// Ends the stream: flushes held-back text, marks the remaining calls
    /// ready, and returns the last events and the whole answer.
    pub fn finish(mut self) -> (Vec<StreamEvent>, ChatResponse) {
        let mut events = Vec::new();
        let mut pieces = Vec::new();
        self.think.finish(&mut pieces);
        events.extend(pieces.into_iter().map(piece_event));
        for i in 0..self.calls.len() {
            self.mark_ready(i, &mut events);
        }
        let content = self.saw_content.then_some(self.content);
        let reasoning = (!self.reasoning.is_empty()).then_some(self.reasoning);
        let (content, reasoning) = separate_reasoning(content, reasoning);
        let mut usage = self.usage.unwrap_or_default();
        usage.inference_id = self.inference_id;
        let mut response = ChatResponse {
            id: self.id,
            model: self.model,
            content,
            reasoning,
            // Every call, in position order, a nameless one too (the agent tells
            // the model that no tool has an empty name): positions stay the
            // same as in the events.
            tool_calls: self
                .calls
                .into_iter()
                .map(|c| ToolCall::new(c.id, c.name, c.arguments))
                .collect(),
            finish_reason: self
                .finish_reason
                .as_deref()
                .map(FinishReason::from_wire)
                .unwrap_or_default(),
            usage,
            logprobs: self.logprobs,
            rate_limits: self.rate_limits,
            system_fingerprint: self.system_fingerprint,
            server_tool_calls: self.server_tools.into_iter().map(|(_, c)| c).collect(),
            citations: self.citations,
            ..ChatResponse::default()
        };
        response.show_search_behind_citations();
        (events, response)
    }
}

fn piece_event(p: Piece) -> StreamEvent {
    match p {
        Piece::Reasoning(r) => StreamEvent::ReasoningDelta(r),
        Piece::Answer(a) => StreamEvent::TextDelta(a),
    }
}

/// Replays a whole answer as the events a stream of it would give (for
/// providers that cannot stream a request, and for tests): each text in one
/// piece.
pub(crate) fn events_of(response: ChatResponse) -> Vec<StreamEvent> {
    events_in_chunks(response, usize::MAX)
}

/// As [`events_of`], with text, reasoning and tool arguments in pieces of at
/// most `bytes` bytes (cut at character boundaries).
pub(crate) fn events_in_chunks(response: ChatResponse, bytes: usize) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    if let Some(r) = &response.reasoning {
        events.extend(pieces(r, bytes).map(|p| StreamEvent::ReasoningDelta(p.to_owned())));
    }
    if let Some(c) = &response.content {
        events.extend(pieces(c, bytes).map(|p| StreamEvent::TextDelta(p.to_owned())));
    }
    for (index, call) in response.tool_calls.iter().enumerate() {
        events.push(StreamEvent::ToolCallStarted {
            index,
            id: call.id.clone(),
            name: call.name.clone(),
        });
        events.extend(pieces(&call.arguments, bytes).map(|p| {
            StreamEvent::ToolCallArgumentsDelta {
                index,
                delta: p.to_owned(),
            }
        }));
        events.push(StreamEvent::ToolCallReady {
            index,
            call: call.clone(),
        });
    }
    events.push(StreamEvent::Done(Box::new(response)));
    events
}

/// `text` in pieces of at most `bytes` bytes (more when one character is
/// longer), at least one piece.
fn pieces(text: &str, bytes: usize) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        let mut end = bytes.min(t.len());
        while !t.is_char_boundary(end) {
            end += 1;
        }
        let end = end.max(t.chars().next().map_or(0, char::len_utf8));
        let (piece, tail) = t.split_at(end);
        rest = (!tail.is_empty()).then_some(tail);
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(index: usize, id: Option<&str>, name: Option<&str>, args: &str) -> ChunkDelta {
        ChunkDelta {
            tool_calls: vec![ToolCallDelta {
                index,
                id: id.map(Into::into),
                name: name.map(Into::into),
                arguments: Some(args.into()),
            }],
            ..ChunkDelta::default()
        }
    }

    #[test]
    fn split_arguments_are_assembled_by_index_and_calls_are_ready_when_complete() {
        let mut acc = StreamAccumulator::default();
        let mut ready = Vec::new();
        for d in [
            tc(0, Some("a"), Some("f"), ""),
            tc(0, None, None, "{\"x\":"),
            tc(0, None, None, " 1}"),
            tc(1, Some("b"), Some("g"), "{\"y\""),
            tc(1, None, None, ":2}"),
        ] {
            for e in acc.push(d) {
                if let StreamEvent::ToolCallReady { call, .. } = e {
                    ready.push(call);
                }
            }
        }
        // Both were ready before the stream ended.
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[0], ToolCall::new("a", "f", "{\"x\": 1}"));
        let (events, resp) = acc.finish();
        assert!(events.is_empty());
        assert_eq!(resp.tool_calls.len(), 2);
        assert_eq!(resp.tool_calls[1].arguments, "{\"y\":2}");
    }

    #[test]
    fn several_whole_calls_in_one_chunk() {
        let mut acc = StreamAccumulator::default();
        let d = ChunkDelta {
            tool_calls: vec![
                ToolCallDelta {
                    index: 0,
                    id: Some("1".into()),
                    name: Some("f".into()),
                    arguments: Some("{}".into()),
                },
                ToolCallDelta {
                    index: 1,
                    id: Some("2".into()),
                    name: Some("f".into()),
                    arguments: Some("{}".into()),
                },
            ],
            ..ChunkDelta::default()
        };
        let ready = acc
            .push(d)
            .into_iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallReady { .. }))
            .count();
        assert_eq!(ready, 2);
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::chat::StreamAccumulator;

    use crate::fuzzing::*;

    #[test]
    fn fuzz_accumulator_with_wild_indices() {
        let delta = (
            any::<usize>(),
            proptest::option::of("[ab]{0,2}"),
            proptest::option::of("[fg]{0,3}"),
            proptest::option::of("[{}x:1]{0,4}"),
        );
        fuzz(
            "accumulator",
            3000,
            proptest::collection::vec(delta, 0..40),
            |deltas| {
                let mut acc = StreamAccumulator::default();
                let n = deltas.len();
                for (index, id, name, arguments) in deltas {
                    let d = crate::chat::ChunkDelta {
                        tool_calls: vec![crate::chat::ToolCallDelta {
                            index,
                            id,
                            name,
                            arguments,
                        }],
                        ..Default::default()
                    };
                    acc.push(d);
                }
                let (_, r) = acc.finish();
                // Positions never have gaps: no more calls than pieces.
                prop_assert!(r.tool_calls.len() <= n);
                Ok(())
            },
        );
    }
}

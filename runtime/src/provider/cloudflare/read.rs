//! Workers AI, reading: `{"result": {"response", "tool_calls", "usage"},
//! "success", "errors"}` blocking, and SSE events `{"response", "tool_calls",
//! "usage"}` streamed (assembled by chat completions' decoder). A JSON
//! answer may come as an object rather than text; tool calls come in chat
//! completions' shape or flat (`{name, arguments}`, arguments as an
//! object). Workers AI never says why it stopped: the finish reason is
//! worked out from the answer and the request ([`finish_reason`]).

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::chat::{
    ChatRequest, ChatResponse, ChunkDelta, FinishReason, MetaNeeded, StreamEvent, ToolCall,
    ToolCallDelta, Usage, separate_reasoning,
};
use crate::error::{Error, Result};
use crate::provider::http::{ApiKey, Limits, error_in_answer, error_status_in_text};
use crate::provider::lenient::{Count, Items, Obj, Text};
use crate::provider::openai_compat::decode::WireFunction;
use crate::provider::openai_compat::stream::{Chunk, StreamDecoder};
use crate::provider::streaming::Decode;

/// The token limit Workers AI applies when a request sets none.
const DEFAULT_MAX_TOKENS: u64 = 256;

/// A blocking answer.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    result: Obj<Answer<'a>>,
    #[serde(default)]
    success: Option<bool>,
}

/// The answer (whole), or one streamed event.
#[derive(Deserialize)]
struct Answer<'a> {
    /// Text, or (a JSON answer) an object.
    #[serde(default, borrow)]
    response: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_calls: Items<Call<'a>>,
    #[serde(default)]
    usage: Obj<WireUsage>,
    #[serde(default, borrow)]
    errors: Option<&'a RawValue>,
}

/// A tool call: chat completions' `{id, function: {name, arguments}}` (with
/// an `index` when streamed) or flat `{name, arguments}`.
#[derive(Deserialize)]
struct Call<'a> {
    #[serde(default)]
    index: Count,
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    function: Obj<WireFunction<'a>>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
}

impl Call<'_> {
    fn name(&self) -> Option<&str> {
        self.function
            .0
            .as_ref()
            .and_then(|f| f.name.0.as_deref())
            .or(self.name.0.as_deref())
    }

    fn arguments(&self) -> Option<String> {
        match &self.function.0 {
            Some(f) => f.arguments(),
            None => WireFunction {
                name: Text(None),
                arguments: self.arguments,
            }
            .arguments(),
        }
    }
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Count,
    #[serde(default)]
    completion_tokens: Count,
    #[serde(default)]
    total_tokens: Count,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        let n = |c: Count| c.0.unwrap_or(0);
        Usage {
            prompt_tokens: n(self.prompt_tokens),
            completion_tokens: n(self.completion_tokens),
            total_tokens: n(self.total_tokens),
            ..Usage::default()
        }
    }
}

impl Answer<'_> {
    /// The text: a string's, or an object's JSON as written.
    fn text(&self) -> Option<String> {
        let raw = self.response?;
        match serde_json::from_str::<Text<'_>>(raw.get()) {
            Ok(Text(Some(s))) => Some(s.into_owned()),
            _ if raw.get() == "null" => None,
            _ => Some(raw.get().to_owned()),
        }
    }
}

/// Why the model stopped, which Workers AI does not say: it asked for tools;
/// or it wrote as many tokens as it was allowed (the request's limit, else
/// Workers AI's default of 256), so it was cut; or it ended on its own.
fn finish_reason(response: &ChatResponse, max_tokens: Option<u32>) -> FinishReason {
    let limit = max_tokens.map_or(DEFAULT_MAX_TOKENS, u64::from);
    if !response.tool_calls.is_empty() {
        FinishReason::ToolCalls
    } else if response.usage.completion_tokens >= limit {
        FinishReason::Length
    } else {
        FinishReason::Stop
    }
}

/// Reads a blocking answer to `request`.
pub(crate) fn parse_response(body: &str, request: &ChatRequest) -> Result<ChatResponse> {
    let envelope: Envelope<'_> = match serde_json::from_str(body) {
        Ok(Obj(Some(e))) => e,
        Ok(Obj(None)) => return Err(Error::protocol("a Workers AI answer (not an object)", body)),
        Err(e) => return Err(Error::protocol(format!("a Workers AI answer ({e})"), body)),
    };
    let Some(answer) = envelope.result.0 else {
        // `success: false` with a 200: typed by the error it carries.
        if envelope.success == Some(false) {
            return Err(error_in_answer(body, "", Default::default()));
        }
        return Err(Error::protocol("a Workers AI answer (no `result`)", body));
    };
    let (content, reasoning) = separate_reasoning(answer.text(), None);
    let tool_calls = answer
        .tool_calls
        .0
        .iter()
        .map(|c| {
            ToolCall::new(
                c.id.0.as_deref().unwrap_or_default(),
                c.name().unwrap_or_default(),
                c.arguments().unwrap_or_default(),
            )
        })
        .collect();
    let mut response = ChatResponse {
        content,
        reasoning,
        tool_calls,
        usage: answer.usage.0.unwrap_or_default().usage(),
        ..ChatResponse::default()
    };
    response.finish_reason = finish_reason(&response, request.max_tokens);
    Ok(response)
}

/// Reads one streamed event into a chunk.
fn parse_event(data: &str, http_status: u16, _need: MetaNeeded) -> Result<Chunk> {
    let event: Answer<'_> = match serde_json::from_str(data) {
        Ok(Obj(Some(a))) => a,
        Ok(Obj(None)) => return Ok(Chunk::Delta(ChunkDelta::default(), Vec::new())),
        Err(e) => return Err(Error::protocol(format!("a Workers AI event ({e})"), data)),
    };
    if event
        .errors
        .is_some_and(|e| e.get() != "null" && e.get() != "[]")
    {
        let fallback = if http_status >= 400 { http_status } else { 500 };
        return Ok(Chunk::Error(
            error_status_in_text(data, fallback),
            data.to_owned(),
        ));
    }
    let mut d = ChunkDelta {
        content: event.text(),
        usage: event.usage.0.as_ref().map(WireUsage::usage),
        ..ChunkDelta::default()
    };
    let mut indices = Vec::with_capacity(event.tool_calls.0.len());
    for c in &event.tool_calls.0 {
        indices.push(c.index.0);
        d.tool_calls.push(ToolCallDelta {
            index: 0,
            id: c.id.0.as_deref().map(str::to_owned),
            name: c.name().map(str::to_owned),
            arguments: c.arguments(),
        });
    }
    Ok(Chunk::Delta(d, indices))
}

/// Reads a streamed answer: chat completions' decoder over Workers AI's
/// events, the finish reason worked out at the end.
pub(crate) struct Decoder {
    inner: StreamDecoder,
    /// The request's token limit.
    max_tokens: Option<u32>,
}

impl Decoder {
    pub(crate) fn new(
        request: &ChatRequest,
        status: u16,
        model: String,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self {
        let accumulator = crate::chat::StreamAccumulator::new(Default::default(), None);
        Self {
            inner: StreamDecoder::new(accumulator, status, model, key, limits)
                .with_parser(parse_event),
            max_tokens: request.max_tokens,
        }
    }

    /// Sets the finish reason of the answer among `out[from..]`.
    fn finish_answer(&self, out: &mut VecDeque<Result<StreamEvent>>, from: usize) {
        for event in out.iter_mut().skip(from) {
            if let Ok(StreamEvent::Done(response)) = event {
                response.finish_reason = finish_reason(response, self.max_tokens);
            }
        }
    }
}

impl Decode for Decoder {
    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        let from = out.len();
        self.inner.push(bytes, out);
        self.finish_answer(out, from);
    }

    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        let from = out.len();
        self.inner.finish(out);
        self.finish_answer(out, from);
    }

    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.inner.fail(error, out);
    }

    fn is_done(&self) -> bool {
        self.inner.is_done()
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Decoder;
    use crate::chat::ChatRequest;
    use crate::fuzzing::*;

    fn event() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z ]{0,12}".prop_map(|t| format!(r#"{{"response":"{t}","p":"abc"}}"#)),
            Just(r#"{"response":{"is_fruit":true}}"#.to_owned()),
            (0u64..3, "[a-z]{0,3}").prop_map(|(i, a)| format!(
                r#"{{"tool_calls":[{{"index":{i},"id":"c{i}","function":{{"name":"f","arguments":"{{\"{a}\":"}}}}]}}"#
            )),
            Just(r#"{"tool_calls":[{"name":"f","arguments":{"n":1}},7,{"index":18446744073709551615}]}"#.to_owned()),
            Just(r#"{"response":"","usage":{"prompt_tokens":-1,"completion_tokens":1e400}}"#.to_owned()),
            Just(r#"{"errors":[{"code":5023,"message":"no"}],"success":false}"#.to_owned()),
            Just("[DONE]".to_owned()),
            jsonish(),
        ]
    }

    #[test]
    fn fuzz_cloudflare_stream() {
        crate::fuzzing::fuzz_stream_decoder(
            "cloudflare_stream",
            event(),
            0..12,
            1..6,
            |e| format!("data: {e}\n\n"),
            |limits| {
                Decoder::new(
                    &ChatRequest::default().max_tokens(8),
                    200,
                    "m".into(),
                    None,
                    limits,
                )
            },
        );
    }
}

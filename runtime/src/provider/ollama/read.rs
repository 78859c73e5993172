//! Ollama's `/api/chat`, reading: an answer `{message: {content, thinking,
//! tool_calls}, done_reason, prompt_eval_count, eval_count, logprobs}`, and
//! a stream of such objects one per line (NDJSON, not SSE), the last with
//! `done: true`. Tool calls come whole, their arguments as objects; Ollama
//! says `stop` after them, read as [`FinishReason::ToolCalls`].

use std::collections::VecDeque;

use serde_json::Value;

use crate::chat::{
    ChatResponse, ChunkDelta, FinishReason, StreamAccumulator, StreamEvent, ToolCall,
    ToolCallDelta, Usage, separate_reasoning,
};
use crate::error::{Error, Result};
use crate::provider::http::{
    ApiKey, Limits, error_in_answer, error_status_in_text, status_error, too_many_tool_calls,
};
use crate::provider::openai_compat::decode::parse_logprobs;
use crate::provider::streaming::{Decode, oversized_line};

/// What one answer object (or stream line) says.
struct Piece {
    content: Option<String>,
    thinking: Option<String>,
    calls: Vec<(Option<String>, String, String)>,
    done_reason: Option<String>,
    usage: Option<Usage>,
    logprobs: Option<Vec<crate::chat::TokenLogprob>>,
    model: Option<String>,
}

fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Reads one answer object.
fn piece(v: &Value) -> Piece {
    let calls = v
        .pointer("/message/tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let f = c.get("function")?;
            let name = f.get("name")?.as_str()?.to_owned();
            let arguments = match f.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            Some((
                c.get("id").and_then(Value::as_str).map(str::to_owned),
                name,
                arguments,
            ))
        })
        .collect();
    let count = |k: &str| v.get(k).and_then(Value::as_u64);
    let usage = (v.get("done") == Some(&Value::Bool(true))).then(|| {
        let (prompt, completion) = (
            count("prompt_eval_count").unwrap_or(0),
            count("eval_count").unwrap_or(0),
        );
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.saturating_add(completion),
            ..Usage::default()
        }
    });
    Piece {
        content: str_at(v, "/message/content"),
        thinking: str_at(v, "/message/thinking").filter(|t| !t.is_empty()),
        calls,
        done_reason: str_at(v, "/done_reason"),
        usage,
        logprobs: v
            .get("logprobs")
            .filter(|l| l.is_array())
            .and_then(|l| parse_logprobs(&serde_json::json!({ "content": l }))),
        model: str_at(v, "/model"),
    }
}

/// The finish reason Ollama gives, but tool calls made (it says `stop`).
fn finish(done_reason: Option<&str>, called: bool) -> FinishReason {
    match done_reason {
        _ if called => FinishReason::ToolCalls,
        Some(r) => FinishReason::from_wire(r),
        None => FinishReason::Stop,
    }
}

/// Reads a blocking answer.
pub(crate) fn parse_response(body: &str, model: &str) -> Result<ChatResponse> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| Error::protocol(format!("an Ollama answer ({e})"), body))?;
    if !v.is_object() || v.get("message").is_none() {
        if v.get("error").is_some() {
            return Err(error_in_answer(body, model, Default::default()));
        }
        return Err(Error::protocol("an Ollama answer (no `message`)", body));
    }
    let p = piece(&v);
    let (content, reasoning) = separate_reasoning(p.content.filter(|c| !c.is_empty()), p.thinking);
    let tool_calls: Vec<ToolCall> = p
        .calls
        .into_iter()
        .map(|(id, name, args)| ToolCall::new(id.unwrap_or_default(), name, args))
        .collect();
    Ok(ChatResponse {
        model: p.model.unwrap_or_default(),
        content,
        reasoning,
        finish_reason: finish(p.done_reason.as_deref(), !tool_calls.is_empty()),
        tool_calls,
        usage: p.usage.unwrap_or_default(),
        logprobs: p.logprobs,
        ..ChatResponse::default()
    })
}

/// Reads a streamed answer: one JSON object per line, each line at most the
/// event limit, at most the tool-call limit of calls, until `done`.
pub(crate) struct Decoder {
    line: Vec<u8>,
    accumulator: Option<StreamAccumulator>,
    events: Vec<StreamEvent>,
    calls: usize,
    limits: Limits,
    status: u16,
    model: String,
    key: Option<ApiKey>,
}

impl Decoder {
    pub(crate) fn new(status: u16, model: String, key: Option<ApiKey>, limits: &Limits) -> Self {
        Self {
            line: Vec::new(),
            accumulator: Some(StreamAccumulator::default()),
            events: Vec::new(),
            calls: 0,
            limits: limits.clone(),
            status,
            model,
            key,
        }
    }

    fn handle_line(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        let line = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return self.fail(
                    Error::protocol(format!("an Ollama stream line ({e})"), text),
                    out,
                );
            }
        };
        if v.get("error").is_some() {
            let fallback = if self.status >= 400 { self.status } else { 500 };
            let status = error_status_in_text(text, fallback);
            let e = status_error(
                status,
                text,
                &self.model,
                Default::default(),
                None,
                self.key.as_ref(),
            );
            return self.fail(e, out);
        }
        let p = piece(&v);
        let done = v.get("done") == Some(&Value::Bool(true));
        let mut d = ChunkDelta {
            model: p.model,
            content: p.content.filter(|c| !c.is_empty()),
            reasoning: p.thinking,
            usage: p.usage,
            logprobs: p.logprobs,
            ..ChunkDelta::default()
        };
        for (id, name, arguments) in p.calls {
            if self.calls >= self.limits.max_tool_calls {
                return self.fail(too_many_tool_calls(self.limits.max_tool_calls), out);
            }
            d.tool_calls.push(ToolCallDelta {
                index: self.calls,
                id,
                name: Some(name),
                arguments: Some(arguments),
            });
            self.calls += 1;
        }
        if done {
            d.finish_reason = Some(match finish(p.done_reason.as_deref(), self.calls > 0) {
                FinishReason::ToolCalls => "tool_calls".to_owned(),
                _ => p.done_reason.unwrap_or_else(|| "stop".to_owned()),
            });
        }
        let Some(acc) = &mut self.accumulator else {
            return;
        };
        acc.push_into(d, &mut self.events);
        out.extend(self.events.drain(..).map(Ok));
        if done {
            self.end(out);
        }
    }

    fn end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if let Some(acc) = self.accumulator.take() {
            let (events, response) = acc.finish();
            out.extend(events.into_iter().map(Ok));
            out.push_back(Ok(StreamEvent::Done(Box::new(response))));
        }
    }
}

impl Decode for Decoder {
    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            if self.is_done() {
                return;
            }
            let (part, complete) = match chunk.strip_suffix(b"\n") {
                Some(p) => (p, true),
                None => (chunk, false),
            };
            if self.line.len() + part.len() > self.limits.max_event_bytes {
                return self.fail(oversized_line(self.limits.max_event_bytes), out);
            }
            self.line.extend_from_slice(part);
            if complete {
                self.handle_line(out);
            }
        }
    }

    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        self.handle_line(out);
        if !self.is_done() {
            self.fail(
                Error::connection("the stream ended before the answer was complete"),
                out,
            );
        }
    }

    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.accumulator = None;
        out.push_back(Err(error));
    }

    fn is_done(&self) -> bool {
        self.accumulator.is_none()
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Decoder;
    use crate::fuzzing::*;

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z ]{0,10}".prop_map(|t| format!(
                r#"{{"model":"m","message":{{"role":"assistant","content":"{t}"}},"done":false}}"#
            )),
            Just(r#"{"message":{"thinking":"hm","content":""},"done":false}"#.to_owned()),
            Just(r#"{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"n":1}}},{"function":{"name":3}}]},"done":false}"#.to_owned()),
            Just(r#"{"message":{"content":""},"done":true,"done_reason":"length","prompt_eval_count":-1,"eval_count":1e400}"#.to_owned()),
            Just(r#"{"logprobs":[{"token":"a","logprob":"x","bytes":[999],"top_logprobs":7}],"done":false}"#.to_owned()),
            Just(r#"{"error":"model 'x' not found"}"#.to_owned()),
            jsonish(),
        ]
    }

    #[test]
    fn fuzz_ollama_stream() {
        crate::fuzzing::fuzz_stream_decoder(
            "ollama_stream",
            line(),
            0..12,
            1..6,
            |l| format!("{l}\n"),
            |limits| Decoder::new(200, "m".into(), None, limits),
        );
    }
}

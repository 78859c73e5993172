//! Cohere's v2 chat, reading: an answer `{id, message: {content: [text |
//! thinking], tool_plan, tool_calls, citations}, finish_reason, usage,
//! logprobs}`, and its stream of typed events (`message-start`,
//! `content-delta`, `tool-plan-delta`, `tool-call-start`/`-delta`,
//! `citation-start`, `message-end`). Citations name the request's documents
//! by id and the cited span of the answer; they are read into the document's
//! index and the span's place in the document (the whole document where the
//! span is not a quote of it), or into the tool call whose result is cited.

use std::collections::VecDeque;

use serde_json::Value;

use super::documents;
use crate::chat::{
    ChatRequest, ChatResponse, ChunkDelta, Citation, CitationSource, FinishReason,
    StreamAccumulator, StreamEvent, TokenLogprob, ToolCall, ToolCallDelta, Usage,
};
use crate::error::{Error, Result};
use crate::provider::http::{ApiKey, Limits, error_in_answer, status_error, too_many_tool_calls};
use crate::provider::protocol::AnswerHead;
use crate::provider::streaming::JsonEvents;

/// A document the request gave, as citations are read against it.
struct KnownDocument {
    id: String,
    title: Option<String>,
    text: String,
}

fn known_documents(req: &ChatRequest) -> Vec<KnownDocument> {
    documents(req)
        .into_iter()
        .map(|d| KnownDocument {
            id: d.id,
            title: d.title.map(str::to_owned),
            text: d.text.to_owned(),
        })
        .collect()
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// One citation (`{start, end, text, sources: [...]}`): a [`Citation`] per
/// source it names that is known (a request's document, a tool call).
fn citations_of(c: &Value, docs: &[KnownDocument], out: &mut Vec<Citation>) {
    let cited = c.get("text").and_then(Value::as_str).unwrap_or_default();
    for s in c
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = s.get("id").and_then(Value::as_str).unwrap_or_default();
        let source = match s.get("type").and_then(Value::as_str) {
            Some("tool") => CitationSource::ToolResult {
                // `{call id}:{n}`: the n-th output of the call.
                call_id: match id.rsplit_once(':') {
                    Some((call, n)) if n.bytes().all(|b| b.is_ascii_digit()) => call.to_owned(),
                    _ => id.to_owned(),
                },
            },
            _ => {
                let id = str_at(s, "/document/id").unwrap_or(id);
                // By id; else by the snippet the source quotes (a part of
                // the document where Cohere cut a long one in chunks).
                let snippet = str_at(s, "/document/snippet").filter(|t| !t.is_empty());
                let Some((index, doc)) =
                    docs.iter()
                        .enumerate()
                        .find(|(_, d)| d.id == id)
                        .or_else(|| {
                            let snippet = snippet?;
                            docs.iter()
                                .enumerate()
                                .find(|(_, d)| d.text.contains(snippet))
                        })
                else {
                    continue;
                };
                let (start, end) = match doc.text.find(cited).filter(|_| !cited.is_empty()) {
                    Some(at) => {
                        let start = doc.text[..at].chars().count();
                        (start, start + cited.chars().count())
                    }
                    None => (0, doc.text.chars().count()),
                };
                CitationSource::Document {
                    index,
                    title: doc.title.clone(),
                    start,
                    end,
                }
            }
        };
        out.push(Citation {
            cited_text: cited.to_owned(),
            source,
        });
    }
}

/// `logprobs` items (`{text, token_ids, logprobs}`, one or a list): a
/// [`TokenLogprob`] per piece of text, its log probability the sum of its
/// tokens'. Cohere gives no alternatives.
fn logprobs_of(v: &Value) -> Option<Vec<TokenLogprob>> {
    let out: Vec<TokenLogprob> = one_or_many(Some(v))
        .iter()
        .filter_map(|item| {
            let token = item.get("text")?.as_str()?.to_owned();
            let logprob = item
                .get("logprobs")?
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .sum::<f64>();
            Some(TokenLogprob {
                token,
                logprob: if logprob.is_finite() {
                    logprob
                } else {
                    f64::MIN
                },
                bytes: None,
                top_logprobs: Vec::new(),
            })
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// `usage`: the tokens the model saw and wrote (`tokens`; else the billed
/// ones), and those read from the cache.
fn usage_of(u: &Value) -> Usage {
    let count = |k: &str| {
        u.pointer(&format!("/tokens/{k}"))
            .or_else(|| u.pointer(&format!("/billed_units/{k}")))
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map_or(0, |n| n as u64)
    };
    let (prompt, completion) = (count("input_tokens"), count("output_tokens"));
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        cached_tokens: u.get("cached_tokens").and_then(Value::as_u64),
        ..Usage::default()
    }
}

/// Why the answer ended, in chat completions' words (`stop` when it says
/// nothing, its own word when unknown); an error for `ERROR` and `TIMEOUT`
/// (the answer failed: `error` says why).
fn finish_of(
    reason: &str,
    error: Option<&str>,
    model: &str,
    key: Option<&ApiKey>,
) -> Result<String> {
    let failed = |status: u16, what: &str| {
        let message = error.filter(|e| !e.is_empty()).unwrap_or(what);
        let body = serde_json::json!({ "message": message }).to_string();
        status_error(status, &body, model, Default::default(), None, key)
    };
    Ok(match reason {
        "COMPLETE" | "STOP_SEQUENCE" | "" => "stop",
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        // What a blocking call answers with 422 (as recorded).
        "ERROR" => return Err(failed(422, "the model generated no valid answer")),
        "TIMEOUT" => return Err(failed(504, "the model timed out")),
        other => other,
    }
    .to_owned())
}

/// A field that holds one item or a list of them, as a list.
fn one_or_many(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => &[],
    }
}

/// Reads a blocking answer to `request`.
pub(crate) fn parse_response(
    body: &str,
    model: &str,
    request: &ChatRequest,
    limits: &Limits,
) -> Result<ChatResponse> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| Error::protocol(format!("a Cohere answer ({e})"), body))?;
    let Some(message) = v.get("message").filter(|m| m.is_object()) else {
        if v.get("message").is_some_and(Value::is_string) {
            return Err(error_in_answer(body, model, Default::default()));
        }
        return Err(Error::protocol("a Cohere answer (no `message`)", body));
    };
    let (mut text, mut thinking) = (String::new(), String::new());
    for part in message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match part.get("type").and_then(Value::as_str) {
            Some("thinking") => thinking += str_at(part, "/thinking").unwrap_or_default(),
            _ => text += str_at(part, "/text").unwrap_or_default(),
        }
    }
    if thinking.is_empty() {
        thinking = str_at(message, "/tool_plan").unwrap_or_default().to_owned();
    }
    let mut tool_calls = Vec::new();
    for c in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if tool_calls.len() >= limits.max_tool_calls {
            return Err(too_many_tool_calls(limits.max_tool_calls));
        }
        let Some(name) = str_at(c, "/function/name") else {
            continue;
        };
        tool_calls.push(ToolCall::new(
            str_at(c, "/id").unwrap_or_default(),
            name,
            str_at(c, "/function/arguments").unwrap_or_default(),
        ));
    }
    let docs = known_documents(request);
    let mut citations = Vec::new();
    for c in message
        .get("citations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        citations_of(c, &docs, &mut citations);
    }
    let reason = str_at(&v, "/finish_reason").unwrap_or_default();
    let wire = finish_of(reason, str_at(&v, "/error_message"), model, None)?;
    let finish = if reason.is_empty() && !tool_calls.is_empty() {
        FinishReason::ToolCalls
    } else {
        FinishReason::from_wire(&wire)
    };
    Ok(ChatResponse {
        id: str_at(&v, "/id").unwrap_or_default().to_owned(),
        model: model.to_owned(),
        content: Some(text).filter(|t| !t.is_empty()),
        reasoning: Some(thinking).filter(|t| !t.is_empty()),
        tool_calls,
        finish_reason: finish,
        usage: v.get("usage").map(usage_of).unwrap_or_default(),
        logprobs: v.get("logprobs").and_then(logprobs_of),
        citations,
        ..ChatResponse::default()
    })
}

/// Reads a streamed answer's events into the answer.
pub(crate) struct Events {
    /// `None` once the answer ended.
    accumulator: Option<StreamAccumulator>,
    scratch: Vec<StreamEvent>,
    /// The wire index of each call so far, by position.
    calls: Vec<u64>,
    max_calls: usize,
    docs: Vec<KnownDocument>,
    model: String,
    key: Option<ApiKey>,
}

impl Events {
    pub(crate) fn new(
        request: &ChatRequest,
        head: AnswerHead,
        model: String,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self {
        Self {
            accumulator: Some(StreamAccumulator::new(head.rate_limits, head.inference_id)),
            scratch: Vec::new(),
            calls: Vec::new(),
            max_calls: limits.max_tool_calls,
            docs: known_documents(request),
            model,
            key,
        }
    }

    /// The position of the call the event's `index` names (a new one when
    /// `start`).
    fn call_position(&mut self, event: &Value, start: bool) -> Result<Option<usize>> {
        let wire = event.get("index").and_then(Value::as_u64);
        let known = match wire {
            Some(w) => self.calls.iter().rposition(|c| *c == w),
            None => self.calls.len().checked_sub(1),
        };
        match known {
            Some(p) if !start => Ok(Some(p)),
            _ if start => {
                if self.calls.len() >= self.max_calls {
                    return Err(too_many_tool_calls(self.max_calls));
                }
                self.calls.push(wire.unwrap_or(self.calls.len() as u64));
                Ok(Some(self.calls.len() - 1))
            }
            // A piece of a call that never started: not mixed into another.
            _ => Ok(None),
        }
    }
}

impl JsonEvents for Events {
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        let v: Value = serde_json::from_str(data)
            .map_err(|e| Error::protocol(format!("a Cohere stream event ({e})"), data))?;
        let message = v.pointer("/delta/message");
        let mut d = ChunkDelta::default();
        let mut end = false;
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "message-start" => {
                d.id = str_at(&v, "/id").map(str::to_owned);
                d.model = Some(self.model.clone());
            }
            "content-delta" => {
                let content = message.and_then(|m| m.get("content"));
                d.content = content
                    .and_then(|c| c.get("text"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                d.reasoning = content
                    .and_then(|c| c.get("thinking"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                d.logprobs = v.get("logprobs").and_then(logprobs_of);
            }
            "tool-plan-delta" => {
                d.reasoning = message
                    .and_then(|m| m.get("tool_plan"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            kind @ ("tool-call-start" | "tool-call-delta") => {
                let start = kind == "tool-call-start";
                let call = message.and_then(|m| m.get("tool_calls"));
                if let (Some(call), Some(index)) = (call, self.call_position(&v, start)?) {
                    d.tool_calls.push(ToolCallDelta {
                        index,
                        id: str_at(call, "/id").map(str::to_owned),
                        name: str_at(call, "/function/name").map(str::to_owned),
                        arguments: str_at(call, "/function/arguments").map(str::to_owned),
                    });
                }
            }
            "citation-start" => {
                for c in one_or_many(message.and_then(|m| m.get("citations"))) {
                    citations_of(c, &self.docs, &mut d.citations);
                }
            }
            "message-end" => {
                let reason = str_at(&v, "/delta/finish_reason").unwrap_or_default();
                let error = str_at(&v, "/delta/error");
                d.finish_reason = Some(finish_of(reason, error, &self.model, self.key.as_ref())?);
                d.usage = v.pointer("/delta/usage").map(usage_of);
                end = true;
            }
            _ => return Ok(None),
        }
        let Some(acc) = &mut self.accumulator else {
            return Ok(None);
        };
        acc.push_into(d, &mut self.scratch);
        out.extend(self.scratch.drain(..).map(Ok));
        if !end {
            return Ok(None);
        }
        let Some(acc) = self.accumulator.take() else {
            return Ok(None);
        };
        let (events, response) = acc.finish();
        out.extend(events.into_iter().map(Ok));
        Ok(Some(response))
    }

    fn at_end(&mut self, _out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        Err(Error::connection(
            "the stream ended before the answer was complete",
        ))
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::Events;
    use crate::chat::{ChatRequest, ContentPart, Message};
    use crate::fuzzing::*;
    use crate::provider::streaming::SseJson;

    fn event() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#"{"id":"x","type":"message-start","delta":{"message":{"role":"assistant"}}}"#.to_owned()),
            "[a-z ]{0,10}".prop_map(|t| format!(
                r#"{{"type":"content-delta","index":0,"delta":{{"message":{{"content":{{"text":"{t}"}}}}}}}}"#
            )),
            Just(r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"hm"}}},"logprobs":{"text":"hm","token_ids":[1],"logprobs":[-1e400,"x"]}}"#.to_owned()),
            (0u64..3).prop_map(|i| format!(
                r#"{{"type":"tool-call-start","index":{i},"delta":{{"message":{{"tool_calls":{{"id":"c{i}","type":"function","function":{{"name":"f","arguments":""}}}}}}}}}}"#
            )),
            Just(r#"{"type":"tool-call-delta","index":18446744073709551615,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"n\":"}}}}}"#.to_owned()),
            Just(r#"{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":3,"text":"Quack","sources":[{"type":"document","id":"doc_0"},{"type":"tool","id":"c:0"},7]}}}}"#.to_owned()),
            Just(r#"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":-1,"output_tokens":1e400}}}}"#.to_owned()),
            Just(r#"{"type":"message-end","delta":{"finish_reason":"ERROR","usage":{},"error":"no"}}"#.to_owned()),
            jsonish(),
        ]
    }

    #[test]
    fn fuzz_cohere_stream() {
        let request = ChatRequest::new(vec![Message::user_parts(vec![ContentPart::document(
            "Quack.",
        )])]);
        crate::fuzzing::fuzz_stream_decoder(
            "cohere_stream",
            event(),
            0..12,
            1..6,
            |e| format!("data: {e}\n\n"),
            |limits| {
                SseJson::new(
                    Events::new(&request, Default::default(), "m".into(), None, limits),
                    limits,
                )
            },
        );
    }
}

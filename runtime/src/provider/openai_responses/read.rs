//! Reading Responses answers into a [`ChatResponse`]: a blocking body, or a
//! stream whose deltas become events as they come and whose final
//! `response.completed` (or `.incomplete`, `.failed`) carries the whole
//! response, read by the same function as a blocking answer. Both are typed
//! wire structs (serde, borrowing from the body; a field of an unexpected
//! type reads as absent, see `lenient`); output items the next turn sends
//! back are kept as the JSON they came as.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{STATE_NAME, model_error};
use crate::chat::{
    ChatResponse, Citation, CitationSource, FinishReason, ProviderState, RateLimits,
    ServerToolCall, StreamEvent, ToolCall, Usage, WebSource,
};
use crate::error::{Error, Result};
use crate::provider::http::{ApiKey, Limits, error_status_in, status_error, too_many_tool_calls};
use crate::provider::lenient::{Count, Items, Obj, Text};
use crate::provider::streaming::{JsonEvents, SseJson};

/// A response object: a blocking body, or the one a stream's last event
/// carries.
#[derive(Deserialize)]
struct WireResponse<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    model: Text<'a>,
    #[serde(default, borrow)]
    status: Text<'a>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    /// The output items, each read when its kind is known.
    #[serde(default, borrow)]
    output: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    incomplete_details: Obj<Incomplete<'a>>,
    #[serde(default)]
    usage: Obj<WireUsage>,
}

#[derive(Deserialize)]
struct Incomplete<'a> {
    #[serde(default, borrow)]
    reason: Text<'a>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Count,
    #[serde(default)]
    output_tokens: Count,
    #[serde(default)]
    total_tokens: Count,
    #[serde(default)]
    output_tokens_details: Obj<TokenDetails>,
    #[serde(default)]
    input_tokens_details: Obj<TokenDetails>,
}

/// The details of input or output tokens (each has its own fields).
#[derive(Deserialize)]
struct TokenDetails {
    #[serde(default)]
    reasoning_tokens: Count,
    #[serde(default)]
    cached_tokens: Count,
    #[serde(default)]
    cache_write_tokens: Count,
}

/// What is read of an output item.
#[derive(Deserialize, Default)]
struct Item<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    call_id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    arguments: Text<'a>,
    /// A message's parts.
    #[serde(default, borrow)]
    content: Items<Part<'a>>,
    /// Reasoning's summary parts.
    #[serde(default, borrow)]
    summary: Items<Part<'a>>,
    /// A web search's query and sources.
    #[serde(default, borrow)]
    action: Obj<SearchAction<'a>>,
}

/// A part of a message or of a reasoning summary.
#[derive(Deserialize)]
struct Part<'a> {
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    annotations: Items<Annotation<'a>>,
}

#[derive(Deserialize)]
struct Annotation<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    url: Text<'a>,
    #[serde(default, borrow)]
    title: Text<'a>,
}

#[derive(Deserialize)]
struct SearchAction<'a> {
    #[serde(default)]
    query: Option<Value>,
    #[serde(default, borrow)]
    sources: Items<Annotation<'a>>,
}

/// A text field's text, owned ("" when absent).
fn owned(t: &Text<'_>) -> String {
    t.0.as_deref().unwrap_or_default().to_owned()
}

/// Reads a blocking Responses answer.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when `body` is not a response; the provider's error for
/// a failed one.
#[cfg(any(test, feature = "testing"))]
pub fn parse_response(body: &str) -> Result<ChatResponse> {
    parse_response_within(body, &Limits::default())
}

/// As [`parse_response`], with at most `limits.max_tool_calls` calls.
pub(super) fn parse_response_within(body: &str, limits: &Limits) -> Result<ChatResponse> {
    read_response(body, None, limits.max_tool_calls).map(|(r, _)| r)
}

/// Reads a response object (`json`: a blocking body, or the last event's
/// `response`), and the place in `output` of each of its tool calls.
fn read_response(
    json: &str,
    key: Option<&ApiKey>,
    max_tool_calls: usize,
) -> Result<(ChatResponse, Vec<u64>)> {
    let v: WireResponse<'_> = match serde_json::from_str(json) {
        Ok(Obj(Some(v))) => v,
        Ok(Obj(None)) => return Err(Error::protocol("a response (not an object)", json)),
        Err(e) => return Err(Error::protocol(format!("a response ({e})"), json)),
    };
    let status = v.status.0.as_deref().unwrap_or_default();
    let error_object = v.error.is_some_and(|e| e.get().starts_with('{'));
    if status == "failed" || error_object {
        let error: Value = v
            .error
            .and_then(|e| serde_json::from_str(e.get()).ok())
            .unwrap_or_default();
        let status = error_status_in(&error, 500);
        let body = json!({ "error": error }).to_string();
        return Err(status_error(
            status,
            &body,
            v.model.0.as_deref().unwrap_or_default(),
            RateLimits::default(),
            None,
            key,
        ));
    }
    let Some(output) = v.output.as_ref() else {
        return Err(Error::protocol("a response (no `output` list)", json));
    };
    let mut text: Option<String> = None;
    let mut reasoning: Vec<String> = Vec::new();
    let mut tool_calls = Vec::new();
    let mut citations = Vec::new();
    let mut server_calls = Vec::new();
    let mut kept = Vec::new();
    let mut call_outputs = Vec::new();
    for (place, raw) in (0u64..).zip(output) {
        let item = serde_json::from_str::<Obj<Item<'_>>>(raw.get())
            .ok()
            .and_then(|o| o.0)
            .unwrap_or_default();
        let keep = match item.kind.0.as_deref().unwrap_or_default() {
            "message" => {
                for part in &item.content.0 {
                    if let Some(t) = part.text.0.as_deref() {
                        text.get_or_insert_with(String::new).push_str(t);
                    }
                    citations.extend(
                        part.annotations
                            .0
                            .iter()
                            .filter(|a| a.kind.0.as_deref() == Some("url_citation"))
                            .map(|a| Citation {
                                cited_text: String::new(),
                                source: CitationSource::Web {
                                    url: owned(&a.url),
                                    title: a.title.0.as_deref().map(str::to_owned),
                                },
                            }),
                    );
                }
                false
            }
            "reasoning" => {
                reasoning.extend(
                    item.summary
                        .0
                        .iter()
                        .filter_map(|p| p.text.0.as_deref())
                        .map(str::to_owned),
                );
                true
            }
            "function_call" => {
                if tool_calls.len() >= max_tool_calls {
                    return Err(too_many_tool_calls(max_tool_calls));
                }
                call_outputs.push(place);
                tool_calls.push(ToolCall::new(
                    owned(&item.call_id),
                    owned(&item.name),
                    owned(&item.arguments),
                ));
                false
            }
            "web_search_call" => {
                let action = item.action.0.as_ref();
                let query = action.and_then(|a| a.query.clone()).unwrap_or_default();
                server_calls.push(ServerToolCall {
                    id: owned(&item.id),
                    name: "web_search".into(),
                    arguments: json!({ "query": query }).to_string(),
                    sources: action
                        .into_iter()
                        .flat_map(|a| &a.sources.0)
                        .filter_map(|s| {
                            Some(WebSource {
                                url: s.url.0.as_deref()?.to_owned(),
                                title: s.title.0.as_deref().map(str::to_owned),
                            })
                        })
                        .collect(),
                });
                true
            }
            _ => true,
        };
        if keep {
            kept.push(serde_json::from_str::<Value>(raw.get()).unwrap_or_default());
        }
    }
    let incomplete = v
        .incomplete_details
        .0
        .as_ref()
        .and_then(|d| d.reason.0.as_deref());
    let finish = match (status, incomplete) {
        (_, Some("max_output_tokens")) => FinishReason::Length,
        (_, Some("content_filter")) => FinishReason::ContentFilter,
        (_, Some(other)) => FinishReason::Other(other.to_owned()),
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        ("completed", _) => FinishReason::Stop,
        (other, _) => FinishReason::Other(other.to_owned()),
    };
    let id = owned(&v.id);
    let response = ChatResponse {
        model: owned(&v.model),
        content: text,
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        tool_calls,
        finish_reason: finish,
        usage: v.usage.0.as_ref().map(usage).unwrap_or_default(),
        citations,
        server_tool_calls: server_calls,
        provider_state: Some(ProviderState {
            provider: STATE_NAME.into(),
            data: json!({"response_id": id, "items": kept}),
        }),
        id,
        ..ChatResponse::default()
    };
    Ok((response, call_outputs))
}

fn usage(u: &WireUsage) -> Usage {
    let prompt = u.input_tokens.0.unwrap_or(0);
    let completion = u.output_tokens.0.unwrap_or(0);
    let input = u.input_tokens_details.0.as_ref();
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: u
            .total_tokens
            .0
            .unwrap_or(prompt.saturating_add(completion)),
        reasoning_tokens: u
            .output_tokens_details
            .0
            .as_ref()
            .and_then(|d| d.reasoning_tokens.0),
        cached_tokens: input.and_then(|d| d.cached_tokens.0),
        cache_write_tokens: input.and_then(|d| d.cache_write_tokens.0),
        ..Usage::default()
    }
}

/// One event of a stream: its kind and the parts the kinds use.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default)]
    output_index: Count,
    #[serde(default, borrow)]
    delta: Text<'a>,
    #[serde(default, borrow)]
    item: Obj<Item<'a>>,
    /// The whole response (the last event).
    #[serde(default, borrow)]
    response: Option<&'a RawValue>,
}

/// What the events of a streamed response do: deltas become events; the last
/// event carries the whole response.
pub(crate) struct ResponseEvents {
    /// Output index → position among the answer's tool calls.
    calls: Vec<(u64, usize, bool)>,
    /// The calls the stream announced, by position (arguments once ready).
    streamed: Vec<ToolCall>,
    rate_limits: RateLimits,
    model: String,
    key: Option<ApiKey>,
    max_tool_calls: usize,
}

/// Reads a streamed Responses answer: SSE bytes in, [`StreamEvent`]s out.
pub(crate) type StreamDecoder = SseJson<ResponseEvents>;

/// A decoder for a stream of `model` whose headers gave `rate_limits`.
pub(crate) fn stream_decoder(
    rate_limits: RateLimits,
    model: String,
    key: Option<ApiKey>,
    limits: &Limits,
) -> StreamDecoder {
    SseJson::new(
        ResponseEvents {
            calls: Vec::new(),
            streamed: Vec::new(),
            rate_limits,
            model,
            key,
            max_tool_calls: limits.max_tool_calls,
        },
        limits,
    )
}

impl ResponseEvents {
    /// The final object's `calls` (at `outputs` in its output list) at the
    /// positions the stream announced them, whatever order the announcements
    /// came in, so each position keeps its own call's arguments. A call the
    /// stream announced (and a caller may have started) stays even if the
    /// final object leaves it out; one it never announced comes after. More
    /// than `max_tool_calls` in all is refused.
    fn in_announced_order(&self, calls: Vec<ToolCall>, outputs: &[u64]) -> Result<Vec<ToolCall>> {
        let mut finals: Vec<Option<ToolCall>> = calls.into_iter().map(Some).collect();
        let mut ordered = Vec::with_capacity(finals.len().max(self.streamed.len()));
        for ((output, _, _), announced) in self.calls.iter().zip(&self.streamed) {
            let own = outputs
                .iter()
                .position(|o| o == output)
                .and_then(|i| finals.get_mut(i))
                .and_then(Option::take);
            ordered.push(own.unwrap_or_else(|| announced.clone()));
        }
        ordered.extend(finals.into_iter().flatten());
        if ordered.len() > self.max_tool_calls {
            return Err(too_many_tool_calls(self.max_tool_calls));
        }
        Ok(ordered)
    }

    fn position(&self, output_index: u64) -> Option<usize> {
        self.calls
            .iter()
            .find(|(o, _, _)| *o == output_index)
            .map(|(_, p, _)| *p)
    }

    /// The last event's response, read; its calls at their announced places.
    fn finish(
        &mut self,
        response: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<ChatResponse> {
        let (mut answer, outputs) = read_response(response, self.key.as_ref(), self.max_tool_calls)
            .map_err(|e| model_error(e, &self.model))?;
        answer.rate_limits = std::mem::take(&mut self.rate_limits);
        let known = answer.tool_calls.len();
        answer.tool_calls = self.in_announced_order(answer.tool_calls, &outputs)?;
        if known == 0 && !answer.tool_calls.is_empty() {
            answer.finish_reason = FinishReason::ToolCalls;
        }
        // Calls not announced ready (no `output_item.done`): now.
        for (_, index, ready) in &mut self.calls {
            if !*ready && let Some(call) = answer.tool_calls.get(*index) {
                *ready = true;
                out.push_back(Ok(StreamEvent::ToolCallReady {
                    index: *index,
                    call: call.clone(),
                }));
            }
        }
        Ok(answer)
    }
}

impl JsonEvents for ResponseEvents {
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        let event: Event<'_> = match serde_json::from_str(data) {
            Ok(Obj(Some(e))) => e,
            Ok(Obj(None)) => return Ok(None),
            Err(e) => {
                return Err(Error::protocol(
                    format!("an event of the stream ({e})"),
                    data,
                ));
            }
        };
        let output_index = event.output_index.0;
        let item = event.item.0.unwrap_or_default();
        match event.kind.0.as_deref().unwrap_or_default() {
            "response.output_text.delta" => {
                out.push_back(Ok(StreamEvent::TextDelta(owned(&event.delta))));
            }
            "response.reasoning_summary_text.delta" => {
                out.push_back(Ok(StreamEvent::ReasoningDelta(owned(&event.delta))));
            }
            "response.output_item.added" => {
                if item.kind.0.as_deref() == Some("function_call")
                    && let Some(o) = output_index
                    && self.position(o).is_none()
                {
                    if self.calls.len() >= self.max_tool_calls {
                        return Err(too_many_tool_calls(self.max_tool_calls));
                    }
                    let index = self.calls.len();
                    self.calls.push((o, index, false));
                    self.streamed.push(ToolCall::new(
                        owned(&item.call_id),
                        owned(&item.name),
                        String::new(),
                    ));
                    out.push_back(Ok(StreamEvent::ToolCallStarted {
                        index,
                        id: owned(&item.call_id),
                        name: owned(&item.name),
                    }));
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(index) = output_index.and_then(|o| self.position(o)) {
                    out.push_back(Ok(StreamEvent::ToolCallArgumentsDelta {
                        index,
                        delta: owned(&event.delta),
                    }));
                }
            }
            "response.output_item.done" => {
                if let Some(o) = output_index
                    && let Some(slot) = self.calls.iter_mut().find(|(x, _, _)| *x == o)
                    && !slot.2
                {
                    slot.2 = true;
                    let call = ToolCall::new(
                        owned(&item.call_id),
                        owned(&item.name),
                        owned(&item.arguments),
                    );
                    if let Some(known) = self.streamed.get_mut(slot.1) {
                        *known = call.clone();
                    }
                    out.push_back(Ok(StreamEvent::ToolCallReady {
                        index: slot.1,
                        call,
                    }));
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let response = event.response.map_or("null", RawValue::get);
                return self.finish(response, out).map(Some);
            }
            "error" => {
                let v: Value = serde_json::from_str(data).unwrap_or_default();
                let status = error_status_in(&v, 500);
                let body = json!({ "error": v }).to_string();
                return Err(status_error(
                    status,
                    &body,
                    &self.model,
                    RateLimits::default(),
                    None,
                    self.key.as_ref(),
                ));
            }
            _ => {}
        }
        Ok(None)
    }

    fn at_end(&mut self, _out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        Err(Error::connection(
            "the stream ended before the answer was complete",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_response_is_read_typed_and_leniently() {
        let body = r#"{"id": "resp_1", "model": 5, "status": "completed",
            "usage": {"input_tokens": 10, "output_tokens": 4, "input_tokens_details": {"cached_tokens": 2}},
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Hm."}]},
                {"type": "message", "content": [
                    {"type": "output_text", "text": "See ", "annotations": [
                        {"type": "url_citation", "url": "https://a.example", "title": "A"}, 7]},
                    {"type": "output_text", "text": 3}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                "not an item"
            ]}"#;
        let (r, places) = read_response(body, None, 8).unwrap();
        assert_eq!((r.id.as_str(), r.model.as_str()), ("resp_1", ""));
        assert_eq!(r.content.as_deref(), Some("See "));
        assert_eq!(r.reasoning.as_deref(), Some("Hm."));
        assert_eq!(r.citations.len(), 1);
        assert_eq!(places, [2], "the call's place in the output");
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!((r.usage.total_tokens, r.usage.cached_tokens), (14, Some(2)));
        let kept = r
            .provider_state
            .expect("the reasoning item and the unknown one");
        assert_eq!(kept.data["items"].as_array().map(Vec::len), Some(2));
        for bad in ["[]", r#"{"output": 5}"#, "{"] {
            let e = parse_response(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad}");
        }
        let e = read_response(
            r#"{"output": [{"type": "function_call"}, {"type": "function_call"}]}"#,
            None,
            1,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    }

    #[test]
    fn a_failed_stream_is_a_typed_error() {
        let body = b"data: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"boom\"},\"output\":[]}}\n\n";
        let err = super::super::parse_response_stream(body).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server, "{err:?}");
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    /// One event of an OpenAI Responses stream, well-formed or hostile.
    fn responses_event() -> impl Strategy<Value = String> {
        let index = prop_oneof![
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("-1".to_owned()),
            Just("null".to_owned()),
        ];
        let item = prop_oneof![
            Just(r#"{"type":"function_call","call_id":"c","name":"f","arguments":""}"#.to_owned()),
            Just(
                r#"{"type":"function_call","call_id":"c","name":"f","arguments":"{\"x\":1}"}"#
                    .to_owned()
            ),
            Just(r#"{"type":"message","content":[{"type":"output_text","text":"hi"}]}"#.to_owned()),
            Just(r#"{"type":"reasoning","summary":[{"text":"t"}]}"#.to_owned()),
            Just("7".to_owned()),
        ];
        let output =
            proptest::collection::vec(item.clone(), 0..4).prop_map(|items| items.join(","));
        prop_oneof![
            "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"response.output_text.delta","delta":"{t}"}}"#)),
            "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"response.reasoning_summary_text.delta","delta":"{t}"}}"#)),
            (index.clone(), item.clone()).prop_map(|(i, it)| format!(
                r#"{{"type":"response.output_item.added","output_index":{i},"item":{it}}}"#
            )),
            index.clone().prop_map(|i| format!(
                r#"{{"type":"response.function_call_arguments.delta","output_index":{i},"delta":"{{"}}"#
            )),
            (index, item).prop_map(|(i, it)| format!(
                r#"{{"type":"response.output_item.done","output_index":{i},"item":{it}}}"#
            )),
            output.clone().prop_map(|o| format!(
                r#"{{"type":"response.completed","response":{{"id":"r","status":"completed","output":[{o}],"usage":{{"input_tokens":1e300,"output_tokens":-1}}}}}}"#
            )),
            output.prop_map(|o| format!(
                r#"{{"type":"response.incomplete","response":{{"id":"r","status":"incomplete","incomplete_details":{{"reason":"max_output_tokens"}},"output":[{o}]}}}}"#
            )),
            Just(r#"{"type":"response.failed","response":{"status":"failed","error":{"message":"x"}}}"#.to_owned()),
            Just(r#"{"type":"response.completed","response":7}"#.to_owned()),
            Just(r#"{"type":"error","code":"server_error","message":"boom"}"#.to_owned()),
            Just(r#"{"type":"error","code":"rate_limit_exceeded","message":"slow"}"#.to_owned()),
            Just("[DONE]".to_owned()),
            Just("not json".to_owned()),
        ]
    }

    #[test]
    fn fuzz_responses_stream() {
        fuzz_stream_decoder(
            "responses_stream",
            responses_event(),
            0..12,
            1..4,
            |e| format!("data: {e}\n\n"),
            |limits| super::stream_decoder(Default::default(), "m".into(), None, limits),
        );
    }
}

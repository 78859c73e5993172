//! The Responses wire format: requests written from a [`ChatRequest`], answers
//! read into a [`ChatResponse`]. A stream's deltas become events as they come;
//! its final `response.completed` (or `.incomplete`) carries the whole
//! response, read by the same function as a blocking answer.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use crate::chat::{
    ChatRequest, ChatResponse, Citation, CitationSource, ContentPart, FinishReason, MediaKind,
    MediaSource, Message, ProviderState, RateLimits, ResponseFormat, ServerTool, ServerToolCall,
    StreamEvent, ToolCall, ToolChoice, Usage, WebSource,
};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::http::{ApiKey, Limits, error_status_in, status_error, too_many_tool_calls};
use crate::provider::json;
use crate::provider::streaming::{JsonEvents, SseJson, parse_event};

/// The provider name on [`ProviderState`]s this module writes.
const PROVIDER: &str = "openai_responses";

/// The model's settings that shape every request.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub store: bool,
    pub reasoning_summary: bool,
    pub service_tier: Option<String>,
}

/// The response id an assistant message's state names, if it came from here.
fn response_id(m: &Message) -> Option<&str> {
    match m {
        Message::Assistant {
            provider_state: Some(s),
            ..
        } if s.provider == PROVIDER => s.data.get("response_id").and_then(Value::as_str),
        _ => None,
    }
}

/// The request body for `req`.
pub(super) fn request_body(model: &str, o: &Options, req: &ChatRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    // With stored responses, the conversation up to the last answer is the
    // server's: name it, and send only what came after.
    let (previous, rest) = match o.store {
        true => match req.messages.iter().rposition(|m| response_id(m).is_some()) {
            Some(i) => (
                req.messages.get(i).and_then(response_id),
                req.messages.get(i + 1..).unwrap_or_default(),
            ),
            None => (None, req.messages.as_slice()),
        },
        false => (None, req.messages.as_slice()),
    };
    if let Some(id) = previous {
        body.insert("previous_response_id".into(), id.into());
    }
    let instructions: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    body.insert("input".into(), input(rest, o.store).into());
    if stream {
        body.insert("stream".into(), true.into());
    }
    body.insert("store".into(), o.store.into());
    if !o.store {
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    if let Some(t) = &o.service_tier {
        body.insert("service_tier".into(), t.clone().into());
    }
    if o.reasoning_summary || req.reasoning_effort.is_some() {
        let mut r = Map::new();
        if let Some(e) = req.reasoning_effort {
            r.insert("effort".into(), e.as_str().into());
        }
        if o.reasoning_summary {
            r.insert("summary".into(), "auto".into());
        }
        body.insert("reasoning".into(), Value::Object(r));
    }
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut tool = json!({
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            });
            if t.strict {
                json::set(&mut tool, "strict", true);
            }
            tool
        })
        .collect();
    for t in &req.server_tools {
        if let ServerTool::WebSearch { .. } = t {
            tools.push(json!({"type": "web_search"}));
            let include = body
                .entry("include")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = include.as_array_mut() {
                list.push("web_search_call.action.sources".into());
            }
        }
    }
    if !tools.is_empty() {
        body.insert("tools".into(), tools.into());
    }
    if let Some(c) = &req.tool_choice {
        body.insert(
            "tool_choice".into(),
            match c {
                ToolChoice::Auto => "auto".into(),
                ToolChoice::None => "none".into(),
                ToolChoice::Required => "required".into(),
                ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
            },
        );
    }
    if let Some(p) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), p.into());
    }
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": name, "schema": schema, "strict": strict}}),
            );
        }
    }
    if let Some(n) = req.max_tokens {
        body.insert("max_output_tokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if req.logprobs {
        body.insert(
            "top_logprobs".into(),
            req.top_logprobs.unwrap_or_default().into(),
        );
        let include = body
            .entry("include")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = include.as_array_mut() {
            list.push("message.output_text.logprobs".into());
        }
    }
    Value::Object(body)
}

/// The input items for these messages (system messages go to `instructions`).
fn input(messages: &[Message], store: bool) -> Vec<Value> {
    let mut items = Vec::new();
    for m in messages {
        match m {
            Message::System { .. } => {}
            Message::User { content } => items.push(json!({
                "type": "message",
                "role": "user",
                "content": content.iter().map(part).collect::<Vec<_>>(),
            })),
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                // Reasoning the server does not keep travels encrypted.
                if !store
                    && let Some(s) = provider_state.as_ref().filter(|s| s.provider == PROVIDER)
                {
                    items.extend(
                        s.data
                            .get("items")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning"))
                            .cloned(),
                    );
                }
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    items.push(json!({
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text}],
                    }));
                }
                for c in tool_calls {
                    items.push(json!({
                        "type": "function_call",
                        "call_id": c.id,
                        "name": c.name,
                        "arguments": c.arguments,
                    }));
                }
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => items.push(json!({
                "type": "function_call_output",
                "call_id": tool_call_id,
                "output": content,
            })),
        }
    }
    items
}

fn part(p: &ContentPart) -> Value {
    if let ContentPart::Document(d) = p {
        return json!({"type": "input_text", "text": d.text});
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return json!({"type": "input_text", "text": text});
    };
    let url = match &media.source {
        MediaSource::Url(u) => u.clone(),
        MediaSource::Base64(b) => format!("data:{};base64,{b}", media.media_type),
    };
    if media.kind() == MediaKind::Image {
        return json!({"type": "input_image", "image_url": url, "detail": "auto"});
    }
    match &media.source {
        MediaSource::Url(u) => json!({"type": "input_file", "file_url": u}),
        MediaSource::Base64(_) => {
            let ext = media.media_type.rsplit('/').next().unwrap_or("bin");
            json!({"type": "input_file", "file_data": url, "filename": format!("document.{ext}")})
        }
    }
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
    let v: Value = serde_json::from_str(body).map_err(|_| Error::protocol("a response", body))?;
    read_response(&v, None, limits.max_tool_calls).map(|(r, _)| r)
}

/// Reads a response object (blocking, or the last event of a stream), and the
/// place in `output` of each of its tool calls.
fn read_response(
    v: &Value,
    key: Option<&ApiKey>,
    max_tool_calls: usize,
) -> Result<(ChatResponse, Vec<u64>)> {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let status = v.get("status").and_then(Value::as_str).unwrap_or_default();
    if status == "failed" || v.get("error").is_some_and(Value::is_object) {
        let error = v.get("error").cloned().unwrap_or_default();
        let status = error_status_in(&error, 500);
        let body = json!({ "error": error }).to_string();
        return Err(status_error(
            status,
            &body,
            v.get("model").and_then(Value::as_str).unwrap_or_default(),
            RateLimits::default(),
            None,
            key,
        ));
    }
    let Some(output) = v.get("output").and_then(Value::as_array) else {
        return Err(Error::protocol(
            "a response (no `output` list)",
            &v.to_string(),
        ));
    };
    let mut text: Option<String> = None;
    let mut reasoning: Vec<String> = Vec::new();
    let mut tool_calls = Vec::new();
    let mut citations = Vec::new();
    let mut server_calls = Vec::new();
    let mut kept = Vec::new();
    let mut call_outputs = Vec::new();
    for (place, item) in (0u64..).zip(output) {
        match item.get("type").and_then(Value::as_str).unwrap_or_default() {
            "message" => {
                for c in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(t) = c.get("text").and_then(Value::as_str) {
                        text.get_or_insert_with(String::new).push_str(t);
                    }
                    for a in c
                        .get("annotations")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if a.get("type").and_then(Value::as_str) == Some("url_citation") {
                            citations.push(Citation {
                                cited_text: String::new(),
                                source: CitationSource::Web {
                                    url: str_of(a, "url").unwrap_or_default(),
                                    title: str_of(a, "title"),
                                },
                            });
                        }
                    }
                }
            }
            "reasoning" => {
                reasoning.extend(
                    item.get("summary")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.get("text").and_then(Value::as_str))
                        .map(str::to_owned),
                );
                kept.push(item.clone());
            }
            "function_call" => {
                if tool_calls.len() >= max_tool_calls {
                    return Err(too_many_tool_calls(max_tool_calls));
                }
                call_outputs.push(place);
                tool_calls.push(ToolCall::new(
                    str_of(item, "call_id").unwrap_or_default(),
                    str_of(item, "name").unwrap_or_default(),
                    str_of(item, "arguments").unwrap_or_default(),
                ));
            }
            "web_search_call" => {
                let action = item.get("action").cloned().unwrap_or_default();
                let query = action.get("query").cloned().unwrap_or_default();
                server_calls.push(ServerToolCall {
                    id: str_of(item, "id").unwrap_or_default(),
                    name: "web_search".into(),
                    arguments: json!({ "query": query }).to_string(),
                    sources: action
                        .get("sources")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|s| {
                            Some(WebSource {
                                url: s.get("url")?.as_str()?.to_owned(),
                                title: str_of(s, "title"),
                            })
                        })
                        .collect(),
                });
                kept.push(item.clone());
            }
            _ => kept.push(item.clone()),
        }
    }
    let finish = match (
        status,
        v.pointer("/incomplete_details/reason")
            .and_then(Value::as_str),
    ) {
        (_, Some("max_output_tokens")) => FinishReason::Length,
        (_, Some("content_filter")) => FinishReason::ContentFilter,
        (_, Some(other)) => FinishReason::Other(other.to_owned()),
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        ("completed", _) => FinishReason::Stop,
        (other, _) => FinishReason::Other(other.to_owned()),
    };
    let id = str_of(v, "id").unwrap_or_default();
    let response = ChatResponse {
        model: str_of(v, "model").unwrap_or_default(),
        content: text,
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        tool_calls,
        finish_reason: finish,
        usage: v.get("usage").map(read_usage).unwrap_or_default(),
        citations,
        server_tool_calls: server_calls,
        provider_state: Some(ProviderState {
            provider: PROVIDER.into(),
            data: json!({"response_id": id, "items": kept}),
        }),
        id,
        ..ChatResponse::default()
    };
    Ok((response, call_outputs))
}

fn read_usage(u: &Value) -> Usage {
    let n = |v: Option<&Value>, k: &str| v.and_then(|v| v.get(k)).and_then(Value::as_u64);
    let prompt = n(Some(u), "input_tokens").unwrap_or(0);
    let completion = n(Some(u), "output_tokens").unwrap_or(0);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: n(Some(u), "total_tokens").unwrap_or(prompt.saturating_add(completion)),
        reasoning_tokens: n(u.get("output_tokens_details"), "reasoning_tokens"),
        cached_tokens: n(u.get("input_tokens_details"), "cached_tokens"),
        cache_write_tokens: n(u.get("input_tokens_details"), "cache_write_tokens"),
        ..Usage::default()
    }
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
}

impl JsonEvents for ResponseEvents {
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        let mut v = parse_event(data)?;
        let s = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let output_index = v.get("output_index").and_then(Value::as_u64);
        match v.get("type").and_then(Value::as_str).unwrap_or_default() {
            "response.output_text.delta" => {
                out.push_back(Ok(StreamEvent::TextDelta(s(&v, "delta"))));
            }
            "response.reasoning_summary_text.delta" => {
                out.push_back(Ok(StreamEvent::ReasoningDelta(s(&v, "delta"))));
            }
            "response.output_item.added" => {
                let item = v.get("item").cloned().unwrap_or_default();
                if item.get("type").and_then(Value::as_str) == Some("function_call")
                    && let Some(o) = output_index
                    && self.position(o).is_none()
                {
                    if self.calls.len() >= self.max_tool_calls {
                        return Err(too_many_tool_calls(self.max_tool_calls));
                    }
                    let index = self.calls.len();
                    self.calls.push((o, index, false));
                    self.streamed.push(ToolCall::new(
                        s(&item, "call_id"),
                        s(&item, "name"),
                        String::new(),
                    ));
                    out.push_back(Ok(StreamEvent::ToolCallStarted {
                        index,
                        id: s(&item, "call_id"),
                        name: s(&item, "name"),
                    }));
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(index) = output_index.and_then(|o| self.position(o)) {
                    out.push_back(Ok(StreamEvent::ToolCallArgumentsDelta {
                        index,
                        delta: s(&v, "delta"),
                    }));
                }
            }
            "response.output_item.done" => {
                let item = v.get("item").cloned().unwrap_or_default();
                if let Some(o) = output_index
                    && let Some(slot) = self.calls.iter_mut().find(|(x, _, _)| *x == o)
                    && !slot.2
                {
                    slot.2 = true;
                    let call =
                        ToolCall::new(s(&item, "call_id"), s(&item, "name"), s(&item, "arguments"));
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
                let response = v.get_mut("response").map(Value::take).unwrap_or_default();
                let (mut answer, outputs) =
                    read_response(&response, self.key.as_ref(), self.max_tool_calls)
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
                return Ok(Some(answer));
            }
            "error" => {
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

/// Names the model in an error that did not know it.
pub(super) fn model_error(e: Error, model: &str) -> Error {
    if e.kind() == ErrorKind::ModelNotFound {
        e.into_model_not_found(model)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_conversations_send_only_what_is_new() {
        let call = ToolCall::new("call_1", "f", "{}");
        let mut assistant = Message::assistant_tool_calls(vec![call.clone()]);
        if let Message::Assistant { provider_state, .. } = &mut assistant {
            *provider_state = Some(ProviderState {
                provider: PROVIDER.into(),
                data: json!({"response_id": "resp_1", "items": [{"type": "reasoning", "encrypted_content": "x"}]}),
            });
        }
        let req = ChatRequest::new(vec![
            Message::user("hi"),
            assistant,
            Message::tool_result(&call, "2"),
        ]);
        let stored = Options {
            store: true,
            reasoning_summary: false,
            service_tier: None,
        };
        let body = request_body("m", &stored, &req, false);
        assert_eq!(body["previous_response_id"], "resp_1");
        assert_eq!(
            body["input"],
            json!([{"type": "function_call_output", "call_id": "call_1", "output": "2"}])
        );
        let stateless = Options {
            store: false,
            ..stored
        };
        let body = request_body("m", &stateless, &req, false);
        assert!(body.get("previous_response_id").is_none());
        let kinds: Vec<&str> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "message",
                "reasoning",
                "function_call",
                "function_call_output"
            ]
        );
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

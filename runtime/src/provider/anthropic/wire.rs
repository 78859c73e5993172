//! The Messages wire format: requests written from a [`ChatRequest`], answers
//! (blocking and SSE) read into a [`ChatResponse`]. A streamed answer is
//! assembled into the same message a blocking call returns and read by the
//! same function, so the two cannot disagree.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use super::AnthropicThinking;
use crate::chat::{
    ChatRequest, ChatResponse, Citation, CitationSource, ContentPart, FinishReason, MediaKind,
    MediaSource, Message, ProviderState, RateLimits, ResponseFormat, ServerTool, ServerToolCall,
    StreamEvent, ToolCall, ToolChoice, Usage, WebSource,
};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::http::{
    ApiKey, Limits, error_status_in, status_error, too_large, too_many_tool_calls,
};
use crate::provider::json;
use crate::provider::streaming::{JsonEvents, SseJson, parse_event};

/// The provider name on [`ProviderState`]s this module writes.
const PROVIDER: &str = "anthropic";

/// What the model adds to every request.
pub(super) struct WireModel<'a> {
    pub name: &'a str,
    pub max_tokens: u32,
    pub thinking: AnthropicThinking,
}

/// The request body for `request`.
pub(super) fn request_body(model: &WireModel<'_>, req: &ChatRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.name.into());
    body.insert(
        "max_tokens".into(),
        req.max_tokens.unwrap_or(model.max_tokens).into(),
    );
    let system: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(json!({"type": "text", "text": content})),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages(&req.messages).into());
    if stream {
        body.insert("stream".into(), true.into());
    }
    body.insert(
        "thinking".into(),
        match model.thinking {
            AnthropicThinking::Disabled => json!({"type": "disabled"}),
            AnthropicThinking::Adaptive => json!({"type": "adaptive", "display": "summarized"}),
            AnthropicThinking::Budget(n) => json!({"type": "enabled", "budget_tokens": n}),
        },
    );
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "input_schema": t.parameters,
            })
        })
        .collect();
    for t in &req.server_tools {
        let (kind, name, max_uses) = match t {
            ServerTool::WebSearch { max_uses } => ("web_search_20250305", "web_search", max_uses),
            ServerTool::WebFetch { max_uses } => ("web_fetch_20250910", "web_fetch", max_uses),
        };
        let mut tool = json!({"type": kind, "name": name});
        if let Some(n) = max_uses {
            json::set(&mut tool, "max_uses", *n);
        }
        tools.push(tool);
    }
    if !tools.is_empty() {
        body.insert("tools".into(), tools.into());
    }
    let mut choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
    });
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
    }
    if let Some(c) = choice {
        body.insert("tool_choice".into(), c);
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if let ResponseFormat::JsonSchema { schema, .. } = &req.response_format {
        body.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": schema}}),
        );
    }
    Value::Object(body)
}

/// The conversation without its system messages; each run of tool results
/// becomes one user message of `tool_result` blocks.
fn messages(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut results: Vec<Value> = Vec::new();
    for m in messages {
        if let Message::Tool {
            tool_call_id,
            content,
            is_error,
            ..
        } = m
        {
            let mut block = json!({
                "type": "tool_result",
                "tool_use_id": tool_call_id,
                "content": [{"type": "text", "text": content}],
            });
            if *is_error {
                json::set(&mut block, "is_error", true);
            }
            results.push(block);
            continue;
        }
        if !results.is_empty() {
            out.push(json!({"role": "user", "content": std::mem::take(&mut results)}));
        }
        match m {
            Message::User { content } => {
                out.push(json!({"role": "user", "content": content.iter().map(part).collect::<Vec<_>>()}));
            }
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                let mut blocks: Vec<Value> = provider_state
                    .as_ref()
                    .filter(|s| s.provider == PROVIDER)
                    .and_then(|s| s.data.as_array().cloned())
                    .unwrap_or_default();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in tool_calls {
                    let input = c
                        .parsed_arguments()
                        .unwrap_or_else(|_| Value::Object(Map::new()));
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                out.push(json!({"role": "assistant", "content": blocks}));
            }
            Message::System { .. } | Message::Tool { .. } => {}
        }
    }
    if !results.is_empty() {
        out.push(json!({"role": "user", "content": results}));
    }
    out
}

/// A user message part as a content block.
fn part(p: &ContentPart) -> Value {
    if let ContentPart::Document(d) = p {
        let mut block = json!({
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": d.text},
        });
        if d.citations {
            json::set(&mut block, "citations", json!({"enabled": true}));
        }
        if let Some(t) = &d.title {
            json::set(&mut block, "title", t.clone());
        }
        return block;
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return json!({"type": "text", "text": text});
    };
    let kind = if media.kind() == MediaKind::Image {
        "image"
    } else {
        "document"
    };
    let source = match &media.source {
        MediaSource::Url(url) => json!({"type": "url", "url": url}),
        MediaSource::Base64(data) => {
            json!({"type": "base64", "media_type": media.media_type, "data": data})
        }
    };
    json!({"type": kind, "source": source})
}

/// A 404 about the model (`"model: …"`) as [`ErrorKind::ModelNotFound`](crate::ErrorKind::ModelNotFound).
pub(super) fn model_not_found(e: Error, model: &str) -> Error {
    let about_the_model = e.kind() == ErrorKind::BadRequest
        && e.api_error().is_some_and(|api| {
            api.status == 404
                && (api.message.starts_with("model:")
                    || api.kind.as_deref() == Some("not_found_error"))
        });
    if about_the_model {
        e.into_model_not_found(model)
    } else {
        e
    }
}

/// Reads a blocking Messages answer.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when `body` is not a message.
#[cfg(any(test, feature = "testing"))]
pub fn parse_message(body: &str) -> Result<ChatResponse> {
    parse_message_within(body, &Limits::default())
}

/// As [`parse_message`], with at most `limits.max_tool_calls` calls.
pub(super) fn parse_message_within(body: &str, limits: &Limits) -> Result<ChatResponse> {
    let v: Value = serde_json::from_str(body).map_err(|_| Error::protocol("a message", body))?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(status_error(
            error_status(&v),
            body,
            v.get("model").and_then(Value::as_str).unwrap_or_default(),
            RateLimits::default(),
            None,
            None,
        ));
    }
    if !v.get("content").is_some_and(Value::is_array) {
        return Err(Error::protocol("a message (no `content` list)", body));
    }
    read_message(&v, &[], limits.max_tool_calls)
}

/// The HTTP status an error object stands for.
fn error_status(v: &Value) -> u16 {
    error_status_in(v, 500)
}

/// Reads a message object. `raw_arguments[i]` (streams only) is the text the
/// model wrote for block `i`'s input, used when it is not JSON.
fn read_message(
    v: &Value,
    raw_arguments: &[Option<String>],
    max_tool_calls: usize,
) -> Result<ChatResponse> {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    let mut citations = Vec::new();
    let mut server_calls: Vec<ServerToolCall> = Vec::new();
    let mut state = Vec::new();
    for (i, block) in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let arguments = || match (
            raw_arguments.get(i).and_then(Option::as_deref),
            block.get("input"),
        ) {
            (Some(raw), _) => raw.to_owned(),
            (None, Some(input)) => input.to_string(),
            (None, None) => "{}".to_owned(),
        };
        match block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "text" => {
                let t = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                text.get_or_insert_with(String::new).push_str(t);
                for c in block
                    .get("citations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    citations.extend(read_citation(c));
                }
            }
            "thinking" => {
                let t = block
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !t.is_empty() {
                    let r = reasoning.get_or_insert_with(String::new);
                    if !r.is_empty() {
                        r.push('\n');
                    }
                    r.push_str(t);
                }
                state.push(block.clone());
            }
            "tool_use" => {
                if tool_calls.len() >= max_tool_calls {
                    return Err(too_many_tool_calls(max_tool_calls));
                }
                tool_calls.push(ToolCall::new(
                    str_of(block, "id").unwrap_or_default(),
                    str_of(block, "name").unwrap_or_default(),
                    arguments(),
                ));
            }
            "server_tool_use" => {
                server_calls.push(ServerToolCall {
                    id: str_of(block, "id").unwrap_or_default(),
                    name: str_of(block, "name").unwrap_or_default(),
                    arguments: arguments(),
                    sources: Vec::new(),
                });
                state.push(block.clone());
            }
            kind if kind.ends_with("_tool_result") => {
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if let Some(call) = server_calls.iter_mut().find(|c| c.id == id) {
                    call.sources.extend(web_sources(block.get("content")));
                }
                state.push(block.clone());
            }
            // redacted_thinking and whatever later versions add: kept, to be
            // sent back as they came.
            _ => state.push(block.clone()),
        }
    }
    let usage = v.get("usage").map(read_usage).unwrap_or_default();
    Ok(ChatResponse {
        id: str_of(v, "id").unwrap_or_default(),
        model: str_of(v, "model").unwrap_or_default(),
        content: text,
        reasoning,
        tool_calls,
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(finish_reason)
            .unwrap_or_default(),
        usage,
        citations,
        server_tool_calls: server_calls,
        provider_state: (!state.is_empty()).then(|| ProviderState {
            provider: PROVIDER.into(),
            data: Value::Array(state),
        }),
        ..ChatResponse::default()
    })
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn read_usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    let input = n("input_tokens").unwrap_or(0);
    let read = n("cache_read_input_tokens");
    let write = n("cache_creation_input_tokens");
    let prompt = input
        .saturating_add(read.unwrap_or(0))
        .saturating_add(write.unwrap_or(0));
    let completion = n("output_tokens").unwrap_or(0);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        reasoning_tokens: u
            .get("output_tokens_details")
            .and_then(|d| d.get("thinking_tokens"))
            .and_then(Value::as_u64),
        cached_tokens: read,
        cache_write_tokens: write,
        ..Usage::default()
    }
}

fn read_citation(c: &Value) -> Option<Citation> {
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let n = |k: &str| {
        c.get(k)
            .and_then(Value::as_u64)
            .and_then(|v| usize::try_from(v).ok())
    };
    let source = match c.get("type").and_then(Value::as_str)? {
        "char_location" | "page_location" | "content_block_location" => {
            let (start, end) = match (n("start_char_index"), n("end_char_index")) {
                (Some(a), Some(b)) => (a, b),
                _ => (
                    n("start_page_number")
                        .or(n("start_block_index"))
                        .unwrap_or(0),
                    n("end_page_number").or(n("end_block_index")).unwrap_or(0),
                ),
            };
            CitationSource::Document {
                index: n("document_index").unwrap_or(0),
                title: s("document_title"),
                start,
                end,
            }
        }
        "web_search_result_location" => CitationSource::Web {
            url: s("url").unwrap_or_default(),
            title: s("title"),
        },
        _ => return None,
    };
    Some(Citation {
        cited_text: s("cited_text").unwrap_or_default(),
        source,
    })
}

/// The pages of a web search or web fetch result.
fn web_sources(content: Option<&Value>) -> Vec<WebSource> {
    let page = |v: &Value| {
        let url = v.get("url").and_then(Value::as_str)?.to_owned();
        let title = v
            .get("title")
            .or_else(|| v.pointer("/content/title"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(WebSource { url, title })
    };
    match content {
        Some(Value::Array(results)) => results.iter().filter_map(page).collect(),
        Some(one @ Value::Object(_)) => page(one).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// One content block being streamed.
#[derive(Default)]
struct StreamBlock {
    block: Value,
    /// The input JSON text so far (tool uses).
    input: String,
    /// Its position among the answer's tool calls (client tool uses only).
    call: Option<usize>,
    /// Whether its call was announced ready.
    ready: bool,
    /// The `index` its events name it by.
    wire_index: Option<u64>,
}

/// What the events of a streamed Messages answer build: the message a
/// blocking call returns, read at the end by [`read_message`].
pub(crate) struct MessageEvents {
    message: Option<Value>,
    blocks: Vec<StreamBlock>,
    calls: usize,
    stop_reason: bool,
    rate_limits: RateLimits,
    model: String,
    key: Option<ApiKey>,
    max_tool_calls: usize,
    max_parts: usize,
}

/// Reads a streamed Messages answer: SSE bytes in, [`StreamEvent`]s out.
pub(crate) type StreamDecoder = SseJson<MessageEvents>;

/// A decoder for a stream of `model` whose headers gave `rate_limits`.
pub(crate) fn stream_decoder(
    rate_limits: RateLimits,
    model: String,
    key: Option<ApiKey>,
    limits: &Limits,
) -> StreamDecoder {
    SseJson::new(
        MessageEvents {
            message: None,
            blocks: Vec::new(),
            calls: 0,
            stop_reason: false,
            rate_limits,
            model,
            key,
            max_tool_calls: limits.max_tool_calls,
            max_parts: limits.max_parts,
        },
        limits,
    )
}

impl JsonEvents for MessageEvents {
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        self.apply(parse_event(data)?, out)
    }

    fn at_end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        if self.stop_reason {
            self.end(out)
        } else {
            Err(Error::connection(
                "the stream ended before the answer was complete",
            ))
        }
    }
}

impl MessageEvents {
    /// The block an event names by its `index` (the last block when it names
    /// none); `None` when it names one that never started, so its content is
    /// never mixed into another block.
    fn block_of(&mut self, v: &Value) -> Option<&mut StreamBlock> {
        match v.get("index") {
            None | Some(Value::Null) => self.blocks.last_mut(),
            Some(i) => {
                let i = i.as_u64()?;
                self.blocks
                    .iter_mut()
                    .rev()
                    .find(|b| b.wire_index == Some(i))
            }
        }
    }

    /// Applies one event; the answer when it ends it.
    fn apply(
        &mut self,
        mut v: Value,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "message_start" => {
                let mut m = v.get_mut("message").map(Value::take).unwrap_or_default();
                if !m.is_object() {
                    return Err(Error::protocol("a message_start event", &v.to_string()));
                }
                json::set(&mut m, "content", Value::Array(Vec::new()));
                self.message = Some(m);
            }
            "content_block_start" => {
                if self.blocks.len() >= self.max_parts {
                    return Err(too_large(
                        "the content blocks of one answer",
                        self.max_parts,
                        "max_parts",
                    ));
                }
                let block = v
                    .get_mut("content_block")
                    .map(Value::take)
                    .unwrap_or_default();
                let wire_index = v.get("index").and_then(Value::as_u64);
                if wire_index.is_some() && self.blocks.iter().any(|b| b.wire_index == wire_index) {
                    return Err(Error::protocol(
                        "a second start of one block",
                        &v.to_string(),
                    ));
                }
                let mut b = StreamBlock {
                    block,
                    wire_index,
                    ..StreamBlock::default()
                };
                if b.block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    if self.calls >= self.max_tool_calls {
                        return Err(too_many_tool_calls(self.max_tool_calls));
                    }
                    let s = |k: &str| {
                        b.block
                            .get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    out.push_back(Ok(StreamEvent::ToolCallStarted {
                        index: self.calls,
                        id: s("id"),
                        name: s("name"),
                    }));
                    b.call = Some(self.calls);
                    self.calls += 1;
                }
                self.blocks.push(b);
            }
            "content_block_delta" => {
                let Some(b) = self.block_of(&v) else {
                    return Err(Error::protocol("a delta before its block", &v.to_string()));
                };
                let delta = v.get_mut("delta").map(Value::take).unwrap_or_default();
                let text = |k: &str| {
                    delta
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                match delta
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "text_delta" => {
                        let t = text("text");
                        append(&mut b.block, "text", &t);
                        out.push_back(Ok(StreamEvent::TextDelta(t)));
                    }
                    "thinking_delta" => {
                        let t = text("thinking");
                        append(&mut b.block, "thinking", &t);
                        out.push_back(Ok(StreamEvent::ReasoningDelta(t)));
                    }
                    "signature_delta" => append(&mut b.block, "signature", &text("signature")),
                    "input_json_delta" => {
                        let t = text("partial_json");
                        b.input.push_str(&t);
                        if let Some(index) = b.call
                            && !t.is_empty()
                        {
                            out.push_back(Ok(StreamEvent::ToolCallArgumentsDelta {
                                index,
                                delta: t,
                            }));
                        }
                    }
                    "citations_delta" => {
                        if let Some(c) = delta.get("citation")
                            && let Some(o) = b.block.as_object_mut()
                        {
                            let list = o
                                .entry("citations")
                                .or_insert_with(|| Value::Array(Vec::new()));
                            if let Some(list) = list.as_array_mut() {
                                list.push(c.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(b) = self.block_of(&v) {
                    let is_tool = matches!(
                        b.block.get("type").and_then(Value::as_str),
                        Some("tool_use" | "server_tool_use")
                    );
                    if is_tool {
                        let input = if b.input.trim().is_empty() {
                            Some(Value::Object(Map::new()))
                        } else {
                            serde_json::from_str(&b.input).ok()
                        };
                        if let Some(input) = input {
                            json::set(&mut b.block, "input", input);
                            b.input.clear();
                        }
                    }
                    if let Some(index) = b.call {
                        let arguments = match b.block.get("input") {
                            Some(input) if b.input.is_empty() => input.to_string(),
                            _ => b.input.clone(),
                        };
                        let s = |k: &str| {
                            b.block
                                .get(k)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        if !b.ready {
                            b.ready = true;
                            out.push_back(Ok(StreamEvent::ToolCallReady {
                                index,
                                call: ToolCall::new(s("id"), s("name"), arguments),
                            }));
                        }
                    }
                }
            }
            "message_delta" => {
                let Some(m) = self.message.as_mut() else {
                    return Err(Error::protocol(
                        "a message_delta before message_start",
                        &v.to_string(),
                    ));
                };
                if let Some(Value::Object(delta)) = v.get_mut("delta").map(Value::take) {
                    for (k, val) in delta {
                        if k == "stop_reason" && val.is_string() {
                            self.stop_reason = true;
                        }
                        json::set(m, &k, val);
                    }
                }
                if let Some(Value::Object(usage)) = v.get_mut("usage").map(Value::take)
                    && let Some(u) = json::object_at(m, "usage")
                {
                    u.extend(usage);
                }
            }
            "message_stop" => return self.end(out).map(Some),
            "error" => {
                let body = v.to_string();
                let err = status_error(
                    error_status(&v),
                    &body,
                    &self.model,
                    RateLimits::default(),
                    None,
                    self.key.as_ref(),
                );
                return Err(model_not_found(err, &self.model));
            }
            // `ping`, and event types of later versions.
            _ => {}
        }
        Ok(None)
    }

    fn end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        let Some(mut m) = self.message.take() else {
            return Err(Error::connection(
                "the stream ended before the answer began",
            ));
        };
        let blocks = std::mem::take(&mut self.blocks);
        // For each tool call in order: its position if not yet announced ready.
        let blocks_ready: Vec<Option<usize>> = blocks
            .iter()
            .filter_map(|b| b.call.map(|i| (!b.ready).then_some(i)))
            .collect();
        let raw: Vec<Option<String>> = blocks
            .iter()
            .map(|b| (!b.input.is_empty()).then(|| b.input.clone()))
            .collect();
        json::set(
            &mut m,
            "content",
            Value::Array(blocks.into_iter().map(|b| b.block).collect()),
        );
        let mut response = read_message(&m, &raw, self.max_tool_calls)?;
        response.rate_limits = std::mem::take(&mut self.rate_limits);
        // Calls whose block never closed are complete now.
        for (b, call) in blocks_ready.iter().zip(&response.tool_calls) {
            if let Some(index) = *b {
                out.push_back(Ok(StreamEvent::ToolCallReady {
                    index,
                    call: call.clone(),
                }));
            }
        }
        Ok(response)
    }
}

/// Appends `text` to the string field `key` of a block.
fn append(block: &mut Value, key: &str, text: &str) {
    let Some(o) = block.as_object_mut() else {
        return;
    };
    match o.get_mut(key) {
        Some(Value::String(s)) => s.push_str(text),
        _ => {
            o.insert(key.to_owned(), text.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_inside_a_stream_are_typed() {
        let body = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[]}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let err = super::super::parse_message_stream(body).unwrap_err();
        assert!(
            err.kind() == ErrorKind::Server && err.status() == Some(529),
            "{err:?}"
        );
    }

    #[test]
    fn a_stream_cut_before_its_stop_reason_is_a_connection_error() {
        let body = b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[]}}\n\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n";
        let err = super::super::parse_message_stream(body).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    }

    #[test]
    fn tool_results_are_grouped_and_failures_marked() {
        let call = ToolCall::new("toolu_1", "f", r#"{"a":1}"#);
        let req = ChatRequest::new(vec![
            Message::system("Be brief."),
            Message::user("hi"),
            Message::assistant_tool_calls(vec![call.clone()]),
            Message::tool_error(&call, "boom"),
        ]);
        let model = WireModel {
            name: "claude-x",
            max_tokens: 10,
            thinking: AnthropicThinking::Disabled,
        };
        let body = request_body(&model, &req, false);
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief."}])
        );
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1]["content"][0]["input"], json!({"a": 1}));
        assert_eq!(msgs[2]["content"][0]["is_error"], json!(true));
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    /// One event of an Anthropic Messages stream, well-formed or hostile.
    fn anthropic_event() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            Just("3".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("-1".to_owned()),
            Just("1e300".to_owned()),
            Just("null".to_owned()),
        ];
        let block = prop_oneof![
            Just(r#"{"type":"text","text":""}"#.to_owned()),
            Just(r#"{"type":"thinking","thinking":""}"#.to_owned()),
            Just(r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#.to_owned()),
            Just(
                r#"{"type":"server_tool_use","id":"s","name":"web_search","input":{}}"#.to_owned()
            ),
            Just(
                r#"{"type":"web_search_tool_result","tool_use_id":"s","content":[{"url":"u"}]}"#
                    .to_owned()
            ),
            Just(r#"{"type":"redacted_thinking","data":"x"}"#.to_owned()),
            Just("7".to_owned()),
            Just("null".to_owned()),
        ];
        let delta = prop_oneof![
            "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"text_delta","text":"{t}"}}"#)),
            "[a-z]{0,4}".prop_map(|t| format!(r#"{{"type":"thinking_delta","thinking":"{t}"}}"#)),
            Just(r#"{"type":"signature_delta","signature":"sig"}"#.to_owned()),
            prop_oneof![
                Just("{\\\"x\\\": ".to_owned()),
                Just("1}".to_owned()),
                Just("".to_owned()),
                Just("]".to_owned())
            ]
            .prop_map(|j| format!(r#"{{"type":"input_json_delta","partial_json":"{j}"}}"#)),
            number.clone().prop_map(|n| format!(
                r#"{{"type":"citations_delta","citation":{{"type":"char_location","cited_text":"c","document_index":{n},"start_char_index":{n},"end_char_index":1}}}}"#
            )),
            Just(r#"{"type":"text_delta","text":7}"#.to_owned()),
        ];
        prop_oneof![
            number.clone().prop_map(|n| format!(
                r#"{{"type":"message_start","message":{{"id":"m","model":"x","content":[],"usage":{{"input_tokens":{n},"output_tokens":1}}}}}}"#
            )),
            Just(r#"{"type":"message_start","message":7}"#.to_owned()),
            (number.clone(), block).prop_map(|(n, b)| format!(
                r#"{{"type":"content_block_start","index":{n},"content_block":{b}}}"#
            )),
            (0u64..3, delta).prop_map(|(i, d)| format!(
                r#"{{"type":"content_block_delta","index":{i},"delta":{d}}}"#
            )),
            (0u64..3).prop_map(|i| format!(r#"{{"type":"content_block_stop","index":{i}}}"#)),
            number.prop_map(|n| format!(
                r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn"}},"usage":{{"output_tokens":{n},"cache_read_input_tokens":{n}}}}}"#
            )),
            Just(r#"{"type":"message_delta","delta":7,"usage":[]}"#.to_owned()),
            Just(r#"{"type":"message_stop"}"#.to_owned()),
            Just(r#"{"type":"ping"}"#.to_owned()),
            Just(r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#.to_owned()),
            Just("not json".to_owned()),
        ]
    }

    #[test]
    fn fuzz_anthropic_stream() {
        fuzz_stream_decoder(
            "anthropic_stream",
            anthropic_event(),
            0..14,
            1..4,
            |e| format!("event: x\ndata: {e}\n\n"),
            |limits| super::stream_decoder(Default::default(), "m".into(), None, limits),
        );
    }
}

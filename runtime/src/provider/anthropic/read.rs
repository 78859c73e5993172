//! Reading Messages answers: a blocking body, or a stream's events assembled
//! into the same message and read by the same function, so the two cannot
//! disagree. Both are read as typed wire structs (serde, borrowing from the
//! body; a field of an unexpected type reads as absent, see `lenient`);
//! blocks the next turn sends back (thinking, server tools, their results,
//! kinds of later versions) are kept as the JSON they came as.

use std::collections::VecDeque;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{STATE_NAME, model_not_found};
use crate::chat::{
    ChatResponse, Citation, CitationSource, FinishReason, ProviderState, RateLimits,
    ServerToolCall, StreamEvent, ToolCall, Usage, WebSource,
};
use crate::error::{Error, Result};
use crate::provider::http::{
    ApiKey, Limits, error_in_answer, error_status_in_text, status_error, too_large,
    too_many_tool_calls,
};
use crate::provider::json;
use crate::provider::lenient::{Count, Items, Obj, Text};
use crate::provider::streaming::{JsonEvents, SseJson};

/// A message: a blocking body (with its `content` blocks as written), or the
/// head of the one a stream assembled (its blocks kept apart).
#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    model: Text<'a>,
    #[serde(default, borrow)]
    stop_reason: Text<'a>,
    #[serde(default)]
    usage: Obj<WireUsage>,
    #[serde(default, borrow)]
    content: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Count,
    #[serde(default)]
    cache_read_input_tokens: Count,
    #[serde(default)]
    cache_creation_input_tokens: Count,
    #[serde(default)]
    output_tokens: Count,
    #[serde(default)]
    output_tokens_details: Obj<ThinkingTokens>,
}

#[derive(Deserialize)]
struct ThinkingTokens {
    #[serde(default)]
    thinking_tokens: Count,
}

/// What is read of a content block (the whole block is kept as JSON where the
/// next turn needs it).
#[derive(Deserialize, Default)]
struct Block<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    thinking: Text<'a>,
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default, borrow)]
    citations: Items<WireCitation<'a>>,
    #[serde(default, borrow)]
    tool_use_id: Text<'a>,
    /// A server tool's result (web search pages, a fetched page).
    #[serde(default)]
    content: Option<Value>,
}

#[derive(Deserialize)]
struct WireCitation<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    cited_text: Text<'a>,
    #[serde(default)]
    document_index: Count,
    #[serde(default, borrow)]
    document_title: Text<'a>,
    #[serde(default)]
    start_char_index: Count,
    #[serde(default)]
    end_char_index: Count,
    #[serde(default)]
    start_page_number: Count,
    #[serde(default)]
    end_page_number: Count,
    #[serde(default)]
    start_block_index: Count,
    #[serde(default)]
    end_block_index: Count,
    #[serde(default, borrow)]
    url: Text<'a>,
    #[serde(default, borrow)]
    title: Text<'a>,
}

/// A content block as a blocking body wrote it, or as a stream assembled it.
enum BlockJson<'a> {
    Written(&'a RawValue),
    Assembled(Value),
}

impl BlockJson<'_> {
    /// What is read of it (nothing, for a block that is not an object).
    fn read(&self) -> Block<'_> {
        let block = match self {
            BlockJson::Written(raw) => serde_json::from_str::<Obj<Block<'_>>>(raw.get()).ok(),
            BlockJson::Assembled(v) => Obj::<Block<'_>>::deserialize(v).ok(),
        };
        block.and_then(|o| o.0).unwrap_or_default()
    }

    /// The block as JSON, to send back.
    fn into_value(self) -> Value {
        match self {
            BlockJson::Written(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
            BlockJson::Assembled(v) => v,
        }
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
    let message: WireMessage<'_> = match serde_json::from_str(body) {
        Ok(Obj(Some(m))) => m,
        Ok(Obj(None)) => return Err(Error::protocol("a message (not an object)", body)),
        Err(e) => return Err(Error::protocol(format!("a message ({e})"), body)),
    };
    if message.kind.0.as_deref() == Some("error") {
        return Err(error_in_answer(
            body,
            message.model.0.as_deref().unwrap_or_default(),
            RateLimits::default(),
        ));
    }
    let Some(content) = message.content.as_ref() else {
        return Err(Error::protocol("a message (no `content` list)", body));
    };
    let blocks = content.iter().map(|raw| BlockJson::Written(raw)).collect();
    read_message(&message, blocks, &[], limits.max_tool_calls)
}

/// Reads a message: its head, and its blocks in order. `raw_arguments[i]`
/// (streams only) is the text the model wrote for block `i`'s input, used
/// when it is not JSON.
fn read_message(
    head: &WireMessage<'_>,
    blocks: Vec<BlockJson<'_>>,
    raw_arguments: &[Option<String>],
    max_tool_calls: usize,
) -> Result<ChatResponse> {
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    let mut citations = Vec::new();
    let mut server_calls: Vec<ServerToolCall> = Vec::new();
    let mut state = Vec::new();
    for (i, json) in blocks.into_iter().enumerate() {
        let keep = {
            let block = json.read();
            let owned = |t: &Text<'_>| t.0.as_deref().unwrap_or_default().to_owned();
            let arguments = || match (
                raw_arguments.get(i).and_then(Option::as_deref),
                &block.input,
            ) {
                (Some(raw), _) => raw.to_owned(),
                (None, Some(input)) => input.to_string(),
                (None, None) => "{}".to_owned(),
            };
            match block.kind.0.as_deref().unwrap_or_default() {
                "text" => {
                    let t = block.text.0.as_deref().unwrap_or_default();
                    text.get_or_insert_with(String::new).push_str(t);
                    citations.extend(block.citations.0.iter().filter_map(citation));
                    false
                }
                "thinking" => {
                    let t = block.thinking.0.as_deref().unwrap_or_default();
                    if !t.is_empty() {
                        let r = reasoning.get_or_insert_with(String::new);
                        if !r.is_empty() {
                            r.push('\n');
                        }
                        r.push_str(t);
                    }
                    true
                }
                "tool_use" => {
                    if tool_calls.len() >= max_tool_calls {
                        return Err(too_many_tool_calls(max_tool_calls));
                    }
                    tool_calls.push(ToolCall::new(
                        owned(&block.id),
                        owned(&block.name),
                        arguments(),
                    ));
                    false
                }
                "server_tool_use" => {
                    server_calls.push(ServerToolCall {
                        id: owned(&block.id),
                        name: owned(&block.name),
                        arguments: arguments(),
                        sources: Vec::new(),
                    });
                    true
                }
                kind if kind.ends_with("_tool_result") => {
                    let id = block.tool_use_id.0.as_deref().unwrap_or_default();
                    if let Some(call) = server_calls.iter_mut().find(|c| c.id == id) {
                        call.sources.extend(web_sources(block.content.as_ref()));
                    }
                    true
                }
                // redacted_thinking and whatever later versions add: kept, to
                // be sent back as they came.
                _ => true,
            }
        };
        if keep {
            state.push(json.into_value());
        }
    }
    let usage = head.usage.0.as_ref().map(usage).unwrap_or_default();
    Ok(ChatResponse {
        id: head.id.0.as_deref().unwrap_or_default().to_owned(),
        model: head.model.0.as_deref().unwrap_or_default().to_owned(),
        content: text,
        reasoning,
        tool_calls,
        finish_reason: head
            .stop_reason
            .0
            .as_deref()
            .map(finish_reason)
            .unwrap_or_default(),
        usage,
        citations,
        server_tool_calls: server_calls,
        provider_state: (!state.is_empty()).then(|| ProviderState {
            provider: STATE_NAME.into(),
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

fn usage(u: &WireUsage) -> Usage {
    let input = u.input_tokens.0.unwrap_or(0);
    let read = u.cache_read_input_tokens.0;
    let write = u.cache_creation_input_tokens.0;
    let prompt = input
        .saturating_add(read.unwrap_or(0))
        .saturating_add(write.unwrap_or(0));
    let completion = u.output_tokens.0.unwrap_or(0);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        reasoning_tokens: u
            .output_tokens_details
            .0
            .as_ref()
            .and_then(|d| d.thinking_tokens.0),
        cached_tokens: read,
        cache_write_tokens: write,
        ..Usage::default()
    }
}

fn citation(c: &WireCitation<'_>) -> Option<Citation> {
    let s = |t: &Text<'_>| t.0.as_deref().map(str::to_owned);
    let n = |c: Count| c.0.and_then(|v| usize::try_from(v).ok());
    let source = match c.kind.0.as_deref()? {
        "char_location" | "page_location" | "content_block_location" => {
            let (start, end) = match (n(c.start_char_index), n(c.end_char_index)) {
                (Some(a), Some(b)) => (a, b),
                _ => (
                    n(c.start_page_number)
                        .or(n(c.start_block_index))
                        .unwrap_or(0),
                    n(c.end_page_number).or(n(c.end_block_index)).unwrap_or(0),
                ),
            };
            CitationSource::Document {
                index: n(c.document_index).unwrap_or(0),
                title: s(&c.document_title),
                start,
                end,
            }
        }
        "web_search_result_location" => CitationSource::Web {
            url: s(&c.url).unwrap_or_default(),
            title: s(&c.title),
        },
        _ => return None,
    };
    Some(Citation {
        cited_text: s(&c.cited_text).unwrap_or_default(),
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

/// One event of a stream: its kind and the parts the kinds use.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    /// The block the event is about; absent or `null`: the last one.
    #[serde(default, borrow)]
    index: Option<&'a RawValue>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    content_block: Option<Value>,
    /// A block's delta (`Delta`), or the message's (fields to merge).
    #[serde(default, borrow)]
    delta: Option<&'a RawValue>,
    #[serde(default)]
    usage: Obj<Map<String, Value>>,
}

/// A content block's delta.
#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    thinking: Text<'a>,
    #[serde(default, borrow)]
    signature: Text<'a>,
    #[serde(default, borrow)]
    partial_json: Text<'a>,
    #[serde(default)]
    citation: Option<Value>,
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
    /// The message's own fields (its blocks are kept in `blocks`).
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
        self.apply(data, out)
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

/// A block's string field `key`, or "".
fn field<'v>(block: &'v Value, key: &str) -> &'v str {
    block.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl MessageEvents {
    /// The block an event names by its `index` (the last block when it names
    /// none); `None` when it names one that never started, so its content is
    /// never mixed into another block.
    fn block_of(&mut self, index: Option<&RawValue>) -> Option<&mut StreamBlock> {
        match index {
            None => self.blocks.last_mut(),
            Some(i) => {
                let i: u64 = serde_json::from_str(i.get()).ok()?;
                self.blocks
                    .iter_mut()
                    .rev()
                    .find(|b| b.wire_index == Some(i))
            }
        }
    }

    /// Applies one event (`data`, its JSON); the answer when it ends it.
    fn apply(
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
        match event.kind.0.as_deref().unwrap_or_default() {
            "message_start" => {
                let Some(mut m @ Value::Object(_)) = event.message else {
                    return Err(Error::protocol("a message_start event", data));
                };
                // Its blocks come as events and are kept apart.
                if let Some(o) = m.as_object_mut() {
                    o.remove("content");
                }
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
                let wire_index = event
                    .index
                    .and_then(|i| serde_json::from_str::<u64>(i.get()).ok());
                if wire_index.is_some() && self.blocks.iter().any(|b| b.wire_index == wire_index) {
                    return Err(Error::protocol("a second start of one block", data));
                }
                let mut b = StreamBlock {
                    block: event.content_block.unwrap_or_default(),
                    wire_index,
                    ..StreamBlock::default()
                };
                if field(&b.block, "type") == "tool_use" {
                    if self.calls >= self.max_tool_calls {
                        return Err(too_many_tool_calls(self.max_tool_calls));
                    }
                    out.push_back(Ok(StreamEvent::ToolCallStarted {
                        index: self.calls,
                        id: field(&b.block, "id").to_owned(),
                        name: field(&b.block, "name").to_owned(),
                    }));
                    b.call = Some(self.calls);
                    self.calls += 1;
                }
                self.blocks.push(b);
            }
            "content_block_delta" => {
                let Some(b) = self.block_of(event.index) else {
                    return Err(Error::protocol("a delta before its block", data));
                };
                let Some(delta) = event
                    .delta
                    .and_then(|d| serde_json::from_str::<Obj<Delta<'_>>>(d.get()).ok())
                    .and_then(|o| o.0)
                else {
                    return Ok(None);
                };
                let text = |t: Text<'_>| t.0.unwrap_or_default().into_owned();
                match delta.kind.0.as_deref().unwrap_or_default() {
                    "text_delta" => {
                        let t = text(delta.text);
                        append(&mut b.block, "text", &t);
                        out.push_back(Ok(StreamEvent::TextDelta(t)));
                    }
                    "thinking_delta" => {
                        let t = text(delta.thinking);
                        append(&mut b.block, "thinking", &t);
                        out.push_back(Ok(StreamEvent::ReasoningDelta(t)));
                    }
                    "signature_delta" => {
                        append(&mut b.block, "signature", &text(delta.signature));
                    }
                    "input_json_delta" => {
                        let t = text(delta.partial_json);
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
                        if let Some(c) = delta.citation
                            && let Some(o) = b.block.as_object_mut()
                            && let Some(list) = o
                                .entry("citations")
                                .or_insert_with(|| Value::Array(Vec::new()))
                                .as_array_mut()
                        {
                            list.push(c);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(b) = self.block_of(event.index) {
                    stop_block(b, out);
                }
            }
            "message_delta" => {
                let Some(message) = self.message.as_mut() else {
                    return Err(Error::protocol(
                        "a message_delta before message_start",
                        data,
                    ));
                };
                if let Some(Obj(Some(delta))) = event
                    .delta
                    .and_then(|d| serde_json::from_str::<Obj<Map<String, Value>>>(d.get()).ok())
                {
                    for (k, val) in delta {
                        if k == "stop_reason" && val.is_string() {
                            self.stop_reason = true;
                        }
                        json::set(message, &k, val);
                    }
                }
                if let Some(usage) = event.usage.0
                    && let Some(u) = json::object_at(message, "usage")
                {
                    u.extend(usage);
                }
            }
            "message_stop" => return self.end(out).map(Some),
            "error" => {
                let err = status_error(
                    error_status_in_text(data, 500),
                    data,
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
        let Some(m) = self.message.take() else {
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
        let head = Obj::<WireMessage<'_>>::deserialize(&m)
            .ok()
            .and_then(|o| o.0)
            .ok_or_else(|| Error::protocol("a message_start event", &m.to_string()))?;
        let blocks = blocks
            .into_iter()
            .map(|b| BlockJson::Assembled(b.block))
            .collect();
        let mut response = read_message(&head, blocks, &raw, self.max_tool_calls)?;
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

/// A block's end: a tool use's input parsed into the block (kept as text
/// when it is not JSON), its call announced ready.
fn stop_block(b: &mut StreamBlock, out: &mut VecDeque<Result<StreamEvent>>) {
    if matches!(field(&b.block, "type"), "tool_use" | "server_tool_use") {
        let input = if b.input.trim().is_empty() {
            Some(Value::Object(Map::new()))
        } else {
            serde_json::from_str(&b.input).ok()
        };
        if let Some(input) = input
            && let Some(o) = b.block.as_object_mut()
        {
            o.insert("input".to_owned(), input);
            b.input.clear();
        }
    }
    if let Some(index) = b.call
        && !b.ready
    {
        let arguments = match b.block.get("input") {
            Some(input) if b.input.is_empty() => input.to_string(),
            _ => b.input.clone(),
        };
        b.ready = true;
        out.push_back(Ok(StreamEvent::ToolCallReady {
            index,
            call: ToolCall::new(field(&b.block, "id"), field(&b.block, "name"), arguments),
        }));
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
    use crate::ErrorKind;

    #[test]
    fn a_message_is_read_typed_and_leniently() {
        let body = r#"{"type": "message", "id": "msg_1", "model": 5, "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": "many"},
            "content": [
                {"type": "thinking", "thinking": "Hm.", "signature": "s"},
                {"type": "text", "text": "See ", "citations": [
                    {"type": "char_location", "cited_text": "x", "document_index": 0,
                     "start_char_index": 1, "end_char_index": 4},
                    "not a citation"]},
                {"type": "text", "text": 7},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                "not a block"
            ]}"#;
        let r = parse_message(body).unwrap();
        assert_eq!((r.id.as_str(), r.model.as_str()), ("msg_1", ""));
        assert_eq!(r.content.as_deref(), Some("See "));
        assert_eq!(r.reasoning.as_deref(), Some("Hm."));
        assert_eq!(r.citations.len(), 1);
        assert_eq!(r.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (15, 0));
        let kept = r
            .provider_state
            .expect("the thinking block and the unknown one");
        assert_eq!(kept.data.as_array().map(Vec::len), Some(2));
        for bad in [
            "[]",
            r#"{"content": 5}"#,
            "{",
            r#"{"id": "a", "id": "b", "content": []}"#,
        ] {
            let e = parse_message(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad}");
        }
    }

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

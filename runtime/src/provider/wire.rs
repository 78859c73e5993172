//! The OpenAI chat-completions wire format: [`ChatRequest`] → JSON body, and
//! JSON answers and streams → [`ChatResponse`] / [`StreamEvent`]s.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use super::http::{ApiKey, Limits, status_error, too_large};
use super::sse::{SseEvent, SseParser};
use crate::chat::{
    ChatRequest, ChatResponse, ChunkDelta, ContentPart, FinishReason, Message, RateLimits,
    ReasoningEffort, ResponseFormat, StreamAccumulator, StreamEvent, TimeInfo, TokenLogprob,
    ToolCall, ToolCallDelta, ToolChoice, TopLogprob, Usage, separate_reasoning,
};
use crate::error::{Error, Result, excerpt};

/// The differences between OpenAI-compatible servers that the wire format needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireConfig {
    /// Send `stream_options: {include_usage: true}` (OpenAI, llama.cpp); Cerebras
    /// sends usage without it and rejects unknown fields.
    pub stream_options: bool,
    /// The field assistant reasoning is sent back in (`reasoning` for Cerebras),
    /// or `None` to not send it.
    pub reasoning_field: Option<&'static str>,
}

/// Builds the JSON body of a request.
pub(crate) fn request_body(
    req: &ChatRequest,
    model: &str,
    stream: bool,
    wire: &WireConfig,
) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert(
        "messages".into(),
        Value::Array(req.messages.iter().map(|m| message(m, wire)).collect()),
    );
    if stream {
        body.insert("stream".into(), true.into());
        if wire.stream_options {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                f.insert("description".into(), t.description.clone().into());
                f.insert("parameters".into(), t.parameters.clone());
                if t.strict {
                    f.insert("strict".into(), true.into());
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), v);
    }
    if let Some(p) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), p.into());
    }
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}),
            );
        }
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(s) = req.seed {
        body.insert("seed".into(), s.into());
    }
    if let Some(n) = req.max_tokens {
        body.insert("max_completion_tokens".into(), n.into());
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    if req.logprobs {
        body.insert("logprobs".into(), true.into());
        if let Some(n) = req.top_logprobs {
            body.insert("top_logprobs".into(), n.into());
        }
    }
    if let Some(e) = req.reasoning_effort {
        let e = match e {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        };
        body.insert("reasoning_effort".into(), e.into());
    }
    Value::Object(body)
}

fn message(m: &Message, wire: &WireConfig) -> Value {
    match m {
        Message::System { content } => json!({"role": "system", "content": content}),
        Message::User { content } => {
            let c = match content.as_slice() {
                [ContentPart::Text(t)] => Value::String(t.clone()),
                parts => Value::Array(
                    parts
                        .iter()
                        .map(|p| match p {
                            ContentPart::Text(t) => json!({"type": "text", "text": t}),
                            ContentPart::Image { url } => {
                                json!({"type": "image_url", "image_url": {"url": url}})
                            }
                        })
                        .collect(),
                ),
            };
            json!({"role": "user", "content": c})
        }
        Message::Assistant {
            content,
            tool_calls,
            reasoning,
        } => {
            let mut o = Map::new();
            o.insert("role".into(), "assistant".into());
            if let Some(c) = content {
                o.insert("content".into(), c.clone().into());
            }
            if !tool_calls.is_empty() {
                let calls = tool_calls
                    .iter()
                    .map(|c| json!({"type": "function", "id": c.id, "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
                o.insert("tool_calls".into(), Value::Array(calls));
            }
            if let (Some(field), Some(r)) = (wire.reasoning_field, reasoning) {
                o.insert(field.into(), r.clone().into());
            }
            Value::Object(o)
        }
        Message::Tool {
            tool_call_id,
            name,
            content,
        } => {
            json!({"role": "tool", "content": content, "tool_call_id": tool_call_id, "name": name})
        }
    }
}

fn protocol(what: &str, body: &str) -> Error {
    Error::Protocol {
        what: what.to_owned(),
        excerpt: excerpt(body, 200),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parses a blocking answer.
pub(crate) fn parse_response(
    body: &str,
    rate_limits: RateLimits,
    inference_id: Option<String>,
) -> Result<ChatResponse> {
    let v: Value =
        serde_json::from_str(body).map_err(|_| protocol("a chat completion (not JSON)", body))?;
    let choice = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| protocol("a chat completion (no `choices`)", body))?;
    let msg = choice
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| protocol("a chat completion (no `message` object)", body))?;
    let content = str_field(msg, "content");
    let reasoning = str_field(msg, "reasoning").or_else(|| str_field(msg, "reasoning_content"));
    let (content, reasoning) = separate_reasoning(content, reasoning);
    let mut tool_calls = Vec::new();
    for c in msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = c.get("function").unwrap_or(&Value::Null);
        let arguments = match f.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        tool_calls.push(ToolCall::new(
            str_field(c, "id").unwrap_or_default(),
            str_field(f, "name").unwrap_or_default(),
            arguments,
        ));
    }
    let mut usage = v.get("usage").map(parse_usage).unwrap_or_default();
    usage.time = v.get("time_info").and_then(parse_time);
    usage.inference_id = inference_id;
    Ok(ChatResponse {
        id: str_field(&v, "id").unwrap_or_default(),
        model: str_field(&v, "model").unwrap_or_default(),
        content,
        reasoning,
        tool_calls,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(FinishReason::from_wire)
            .unwrap_or_default(),
        usage,
        logprobs: choice.get("logprobs").and_then(parse_logprobs),
        rate_limits,
        system_fingerprint: str_field(&v, "system_fingerprint"),
    })
}

/// What one SSE data payload was.
pub(crate) enum Chunk {
    /// A delta, and for each of its tool-call pieces the `index` the server
    /// wrote (`None` when it wrote none).
    Delta(Box<ChunkDelta>, Vec<Option<u64>>),
    /// An error inside the stream: its status (the body's `status_code` wins) and JSON.
    Error(u16, String),
}

/// Parses one SSE data payload of a streamed answer.
pub(crate) fn parse_chunk(data: &str, http_status: u16) -> Result<Chunk> {
    let v: Value =
        serde_json::from_str(data).map_err(|_| protocol("a stream chunk (not JSON)", data))?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        let status = v
            .get("status_code")
            .or_else(|| v.pointer("/error/status_code"))
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(if http_status >= 400 { http_status } else { 500 });
        return Ok(Chunk::Error(status, data.to_owned()));
    }
    let mut wire_indices = Vec::new();
    let mut d = ChunkDelta {
        id: str_field(&v, "id"),
        model: str_field(&v, "model"),
        system_fingerprint: str_field(&v, "system_fingerprint"),
        ..ChunkDelta::default()
    };
    if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
        let mut usage = parse_usage(u);
        usage.time = v.get("time_info").and_then(parse_time);
        d.usage = Some(usage);
    }
    if let Some(choice) = v
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        d.content = str_field(delta, "content");
        d.reasoning =
            str_field(delta, "reasoning").or_else(|| str_field(delta, "reasoning_content"));
        for c in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let f = c.get("function").unwrap_or(&Value::Null);
            wire_indices.push(c.get("index").and_then(Value::as_u64));
            d.tool_calls.push(ToolCallDelta {
                // Set by the decoder's `CallSlots` from the wire identity.
                index: 0,
                id: str_field(c, "id"),
                name: str_field(f, "name"),
                arguments: match f.get("arguments") {
                    Some(Value::String(a)) => Some(a.clone()),
                    Some(Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                },
            });
        }
        d.finish_reason = str_field(choice, "finish_reason");
        d.logprobs = choice.get("logprobs").and_then(parse_logprobs);
    }
    Ok(Chunk::Delta(Box::new(d), wire_indices))
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
    slots: CallSlots,
    max_event_bytes: usize,
    /// `None` once the stream is over (answered or failed).
    accumulator: Option<StreamAccumulator>,
    http_status: u16,
    model: String,
    key: Option<ApiKey>,
}

impl StreamDecoder {
    /// A decoder for a response with this status, for `model`; `key` is
    /// redacted from errors.
    pub(crate) fn new(
        accumulator: StreamAccumulator,
        http_status: u16,
        model: String,
        key: Option<ApiKey>,
    ) -> Self {
        let limits = Limits::default();
        Self {
            parser: SseParser::new(),
            slots: CallSlots::new(limits.max_tool_calls),
            max_event_bytes: limits.max_event_bytes,
            accumulator: Some(accumulator),
            http_status,
            model,
            key,
        }
    }

    /// Applies the provider's limits on events and tool calls.
    pub(crate) fn with_limits(mut self, limits: &Limits) -> Self {
        self.slots = CallSlots::new(limits.max_tool_calls);
        self.max_event_bytes = limits.max_event_bytes;
        self
    }

    /// Whether the stream is over: answered, or failed.
    pub(crate) fn is_done(&self) -> bool {
        self.accumulator.is_none()
    }

    /// Reads more bytes; appends the events they complete to `out`.
    pub(crate) fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = Vec::new();
        match self.parser.push(bytes, &mut events) {
            Ok(()) => self.handle(events, out),
            Err(e) => return self.fail(malformed_stream(e), out),
        }
        if !self.is_done() && self.parser.buffered() > self.max_event_bytes {
            let err = too_large(
                "a server-sent event (or a line of one)",
                self.max_event_bytes,
                "max_event_bytes",
            );
            self.fail(err, out);
        }
    }

    /// The body ended: the answer is complete after `[DONE]`, or once the
    /// provider said why it stopped; otherwise the stream broke.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = Vec::new();
        if let Err(e) = self.parser.finish(&mut events) {
            return self.fail(malformed_stream(e), out);
        }
        self.handle(events, out);
        match &self.accumulator {
            None => {}
            Some(acc) if acc.is_finished() => self.end(out),
            Some(_) => self.fail(
                Error::Connection("the stream ended before the answer was complete".into()),
                out,
            ),
        }
    }

    /// Ends the stream with `error`.
    pub(crate) fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.accumulator = None;
        out.push_back(Err(error));
    }

    fn end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if let Some(acc) = self.accumulator.take() {
            let (events, response) = acc.finish();
            out.extend(events.into_iter().map(Ok));
            out.push_back(Ok(StreamEvent::Done(Box::new(response))));
        }
    }

    fn handle(&mut self, events: Vec<SseEvent>, out: &mut VecDeque<Result<StreamEvent>>) {
        for e in events {
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
                let err = too_large(
                    "a server-sent event",
                    self.max_event_bytes,
                    "max_event_bytes",
                );
                return self.fail(err, out);
            }
            match parse_chunk(data, self.http_status) {
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
                                return self.fail(
                                    too_large(
                                        "the tool calls of one answer",
                                        max,
                                        "max_tool_calls",
                                    ),
                                    out,
                                );
                            }
                        }
                    }
                    out.extend(acc.push(*d).into_iter().map(Ok));
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

fn malformed_stream(excerpt: String) -> Error {
    Error::Protocol {
        what: "an event stream".into(),
        excerpt,
    }
}

fn parse_usage(u: &Value) -> Usage {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64);
    Usage {
        prompt_tokens: n("/prompt_tokens").unwrap_or(0),
        completion_tokens: n("/completion_tokens").unwrap_or(0),
        total_tokens: n("/total_tokens").unwrap_or(0),
        reasoning_tokens: n("/completion_tokens_details/reasoning_tokens"),
        cached_tokens: n("/prompt_tokens_details/cached_tokens"),
        time: None,
        inference_id: None,
    }
}

fn parse_time(t: &Value) -> Option<TimeInfo> {
    let f = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    t.is_object().then(|| TimeInfo {
        queue_time: f("queue_time"),
        prompt_time: f("prompt_time"),
        completion_time: f("completion_time"),
        total_time: f("total_time"),
    })
}

fn parse_logprobs(l: &Value) -> Option<Vec<TokenLogprob>> {
    // A token and each of its alternatives have the same three fields.
    let scored = |v: &Value| TopLogprob {
        token: str_field(v, "token").unwrap_or_default(),
        logprob: v
            .get("logprob")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NEG_INFINITY),
        bytes: v.get("bytes").and_then(Value::as_array).map(|b| {
            b.iter()
                .filter_map(|x| x.as_u64().and_then(|x| u8::try_from(x).ok()))
                .collect()
        }),
    };
    let content = l.get("content")?.as_array()?;
    Some(
        content
            .iter()
            .map(|t| {
                let TopLogprob {
                    token,
                    logprob,
                    bytes,
                } = scored(t);
                TokenLogprob {
                    token,
                    logprob,
                    bytes,
                    top_logprobs: t
                        .get("top_logprobs")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(scored)
                        .collect(),
                }
            })
            .collect(),
    )
}

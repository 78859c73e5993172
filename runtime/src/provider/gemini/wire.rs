//! The Gemini wire format: requests written from a [`ChatRequest`] (schemas
//! converted to Gemini's dialect), answers read into a [`ChatResponse`]. A
//! stream's chunks are merged into the response a blocking call returns and
//! read by the same function.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use crate::chat::{
    ChatRequest, ChatResponse, Citation, CitationSource, ContentPart, FinishReason, MediaKind,
    MediaSource, Message, ProviderState, RateLimits, ResponseFormat, ServerTool, ServerToolCall,
    StreamEvent, ToolCall, ToolChoice, Usage, WebSource,
};
use crate::error::{Error, Result};
use crate::provider::http::{ApiKey, Limits, status_error, too_many_tool_calls};
use crate::provider::json;
use crate::provider::streaming::{JsonEvents, SseJson, malformed};
use crate::schema::to_gemini;

/// The provider name on [`ProviderState`]s this module writes.
const PROVIDER: &str = "gemini";

/// What every typecall tool returns to Gemini: its result text under
/// `response` (see `functionResponse` below).
fn tool_response_schema() -> Value {
    json!({
        "type": "OBJECT",
        "properties": {"response": {"type": "STRING"}},
        "required": ["response"],
    })
}

/// A model name as one URL path segment (spaces and other reserved
/// characters percent-encoded; `/` kept for `tunedModels/…`-style names is not
/// allowed here).
pub(super) fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The system instruction and contents of `prefix`, as cached contents take
/// them.
pub(super) fn cache_body(prefix: &ChatRequest) -> Value {
    let mut body = Map::new();
    if let Some(system) = system_instruction(&prefix.messages) {
        body.insert("systemInstruction".into(), system);
    }
    body.insert("contents".into(), contents(&prefix.messages).into());
    Value::Object(body)
}

fn system_instruction(messages: &[Message]) -> Option<Value> {
    let system: Vec<Value> = messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(json!({"text": content})),
            _ => None,
        })
        .collect();
    (!system.is_empty()).then(|| json!({ "parts": system }))
}

/// The request body for `req`.
pub(super) fn request_body(
    req: &ChatRequest,
    thinking_budget: Option<u32>,
    cached: Option<&str>,
) -> Result<Value> {
    let mut body = Map::new();
    if let Some(name) = cached {
        body.insert("cachedContent".into(), name.into());
    }
    if let Some(system) = system_instruction(&req.messages) {
        body.insert("systemInstruction".into(), system);
    }
    body.insert("contents".into(), contents(&req.messages).into());
    let mut tools = Vec::new();
    if !req.tools.is_empty() {
        let mut declarations = Vec::new();
        for t in &req.tools {
            declarations.push(json!({
                "name": t.name,
                "description": t.description,
                "parameters": to_gemini(&t.parameters, &t.name)?,
                "response": tool_response_schema(),
            }));
        }
        tools.push(json!({ "functionDeclarations": declarations }));
    }
    for t in &req.server_tools {
        tools.push(match t {
            ServerTool::WebSearch { .. } => json!({"googleSearch": {}}),
            ServerTool::WebFetch { .. } => json!({"urlContext": {}}),
        });
    }
    if !tools.is_empty() {
        body.insert("tools".into(), tools.into());
    }
    if let Some(c) = &req.tool_choice {
        let config = match c {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body.insert(
            "toolConfig".into(),
            json!({ "functionCallingConfig": config }),
        );
    }
    let mut generation = Map::new();
    generation.insert("responseModalities".into(), json!(["TEXT"]));
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            generation.insert("responseMimeType".into(), "application/json".into());
        }
        ResponseFormat::JsonSchema { name, schema, .. } => {
            generation.insert("responseMimeType".into(), "application/json".into());
            generation.insert("responseSchema".into(), to_gemini(schema, name)?);
        }
    }
    if let Some(s) = req.seed {
        generation.insert("seed".into(), s.into());
    }
    if !req.stop.is_empty() {
        generation.insert("stopSequences".into(), req.stop.clone().into());
    }
    if let Some(n) = req.max_tokens {
        generation.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        generation.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        generation.insert("topP".into(), p.into());
    }
    if req.logprobs {
        generation.insert("responseLogprobs".into(), true.into());
        generation.insert(
            "logprobs".into(),
            req.top_logprobs.unwrap_or_default().into(),
        );
    }
    if let Some(budget) = thinking_budget {
        generation.insert(
            "thinkingConfig".into(),
            json!({"includeThoughts": budget > 0, "thinkingBudget": budget}),
        );
    }
    body.insert("generationConfig".into(), Value::Object(generation));
    Ok(Value::Object(body))
}

/// The parts a model answer had, when its state holds them and they carry
/// the same calls as the message (then they go back unchanged, signatures
/// and thoughts included).
fn saved_parts<'a>(state: Option<&'a ProviderState>, calls: &[ToolCall]) -> Option<&'a Value> {
    let parts = state
        .filter(|s| s.provider == PROVIDER)?
        .data
        .get("parts")?;
    let saved: Vec<(&str, &str)> = parts
        .as_array()?
        .iter()
        .filter_map(|p| p.get("functionCall"))
        .map(|f| {
            (
                f.get("id").and_then(Value::as_str).unwrap_or_default(),
                f.get("name").and_then(Value::as_str).unwrap_or_default(),
            )
        })
        .collect();
    let same = saved.len() == calls.len()
        && saved
            .iter()
            .zip(calls)
            .all(|((id, name), c)| *name == c.name && (id.is_empty() || *id == c.id));
    same.then_some(parts)
}

/// The conversation as `contents` (system messages go to `systemInstruction`).
fn contents(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut responses: Vec<Value> = Vec::new();
    for m in messages {
        if let Message::Tool {
            tool_call_id,
            name,
            content,
            is_error,
        } = m
        {
            let key = if *is_error { "error" } else { "response" };
            let mut response = json!({"name": name, "response": { key: content }});
            if !tool_call_id.is_empty() {
                json::set(&mut response, "id", tool_call_id.clone());
            }
            responses.push(json!({ "functionResponse": response }));
            continue;
        }
        if !responses.is_empty() {
            out.push(json!({"role": "user", "parts": std::mem::take(&mut responses)}));
        }
        match m {
            Message::User { content } => {
                out.push(
                    json!({"role": "user", "parts": content.iter().map(part).collect::<Vec<_>>()}),
                );
            }
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                if let Some(parts) = saved_parts(provider_state.as_ref(), tool_calls) {
                    out.push(json!({"role": "model", "parts": parts}));
                    continue;
                }
                let mut parts = Vec::new();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    parts.push(json!({"text": text}));
                }
                for c in tool_calls {
                    let args = c
                        .parsed_arguments()
                        .unwrap_or_else(|_| Value::Object(Map::new()));
                    parts.push(json!({"functionCall": {"id": c.id, "name": c.name, "args": args}}));
                }
                out.push(json!({"role": "model", "parts": parts}));
            }
            Message::System { .. } | Message::Tool { .. } => {}
        }
    }
    if !responses.is_empty() {
        out.push(json!({"role": "user", "parts": responses}));
    }
    out
}

/// The media type of an image URL, from its extension.
fn image_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        _ => "image/jpeg",
    }
}

fn part(p: &ContentPart) -> Value {
    if let ContentPart::Document(d) = p {
        return json!({"text": d.text});
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return json!({ "text": text });
    };
    match &media.source {
        MediaSource::Base64(data) => {
            json!({"inlineData": {"mimeType": media.media_type, "data": data}})
        }
        MediaSource::Url(uri) => {
            let mime = if media.media_type.ends_with("/*") && media.kind() == MediaKind::Image {
                image_type(uri).to_owned()
            } else {
                media.media_type.clone()
            };
            json!({"fileData": {"mimeType": mime, "fileUri": uri}})
        }
    }
}

/// Gemini's errors as typed errors: a bad key (a 400 `API_KEY_INVALID`) is
/// [`Error::Auth`], an unknown or malformed model name [`Error::ModelNotFound`].
pub(super) fn typed_error(e: Error, model: &str) -> Error {
    match e {
        Error::BadRequest(api) | Error::Auth(api) if api.message.contains("API key") => {
            Error::Auth(api)
        }
        Error::BadRequest(api)
            if api.status == 404 || (api.status == 400 && api.message.contains("model name")) =>
        {
            Error::ModelNotFound {
                model: model.to_owned(),
                error: api,
            }
        }
        other => other,
    }
}

/// Reads a blocking Gemini answer.
///
/// # Errors
/// [`Error::Protocol`] when `body` is not an answer, [`Error::Blocked`] for a
/// blocked prompt, the provider's error for an error body.
pub fn parse_response(body: &str) -> Result<ChatResponse> {
    parse_response_within(body, "", &Limits::default())
}

/// As [`parse_response`], for `model`, with at most `limits.max_tool_calls` calls.
pub(super) fn parse_response_within(
    body: &str,
    model: &str,
    limits: &Limits,
) -> Result<ChatResponse> {
    let v: Value = serde_json::from_str(body).map_err(|_| malformed("an answer", body))?;
    read_response(&v, model, None, limits.max_tool_calls)
}

/// The error object of an answer, if it is one.
fn error_of(v: &Value, model: &str, key: Option<&ApiKey>) -> Option<Error> {
    let error = v.get("error")?;
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let body = json!({ "error": {
        "message": error.get("message").cloned().unwrap_or_default(),
        "type": error.get("status").cloned().unwrap_or_default(),
    }})
    .to_string();
    Some(typed_error(
        status_error(status, &body, model, RateLimits::default(), None, key),
        model,
    ))
}

fn read_response(
    v: &Value,
    model: &str,
    key: Option<&ApiKey>,
    max_tool_calls: usize,
) -> Result<ChatResponse> {
    if let Some(e) = error_of(v, model, key) {
        return Err(e);
    }
    let candidate = v.pointer("/candidates/0");
    if candidate.is_none()
        && let Some(reason) = v
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
    {
        return Err(Error::Blocked {
            reason: reason.to_owned(),
            message: v
                .pointer("/promptFeedback/blockReasonMessage")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    let Some(candidate) = candidate else {
        return Err(malformed("an answer (no candidates)", &v.to_string()));
    };
    let parts = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut text: Option<String> = None;
    let mut thoughts: Option<String> = None;
    let mut tool_calls = Vec::new();
    let mut keep = false;
    for p in &parts {
        keep |= p.get("thoughtSignature").is_some() || p.get("thought").is_some();
        if let Some(call) = p.get("functionCall") {
            tool_calls.push(call_of(call, tool_calls.len(), max_tool_calls)?);
        } else if let Some(t) = p
            .get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            let target = if p.get("thought") == Some(&Value::Bool(true)) {
                &mut thoughts
            } else {
                &mut text
            };
            target.get_or_insert_with(String::new).push_str(t);
        }
    }
    let (citations, server_tool_calls) = grounding(candidate);
    let finish = match candidate.get("finishReason").and_then(Value::as_str) {
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => FinishReason::ContentFilter,
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        Some("STOP") | None => FinishReason::Stop,
        Some(other) => FinishReason::Other(other.to_owned()),
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(ChatResponse {
        id: s("responseId"),
        model: s("modelVersion"),
        content: text,
        reasoning: thoughts,
        tool_calls,
        finish_reason: finish,
        usage: v.get("usageMetadata").map(read_usage).unwrap_or_default(),
        citations,
        server_tool_calls,
        provider_state: keep.then(|| ProviderState {
            provider: PROVIDER.into(),
            data: json!({ "parts": parts }),
        }),
        ..ChatResponse::default()
    })
}

/// A `functionCall` part as the answer's call number `count` (from 0),
/// refused past `max` calls.
fn call_of(call: &Value, count: usize, max: usize) -> Result<ToolCall> {
    if count >= max {
        return Err(too_many_tool_calls(max));
    }
    let s = |k: &str| {
        call.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
    Ok(ToolCall::new(s("id"), s("name"), args.to_string()))
}

/// What Google Search or URL context grounding found: citations of the web
/// pages the answer used, and the searches (or fetches) made.
fn grounding(candidate: &Value) -> (Vec<Citation>, Vec<ServerToolCall>) {
    let mut citations = Vec::new();
    let mut calls = Vec::new();
    if let Some(g) = candidate.get("groundingMetadata") {
        let pages: Vec<WebSource> = g
            .get("groundingChunks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let web = c.get("web")?;
                Some(WebSource {
                    url: web.get("uri")?.as_str()?.to_owned(),
                    title: web.get("title").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect();
        for s in g
            .get("groundingSupports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cited = s
                .pointer("/segment/text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            for i in s
                .get("groundingChunkIndices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
            {
                if let Some(page) = usize::try_from(i).ok().and_then(|i| pages.get(i)) {
                    citations.push(Citation {
                        cited_text: cited.to_owned(),
                        source: CitationSource::Web {
                            url: page.url.clone(),
                            title: page.title.clone(),
                        },
                    });
                }
            }
        }
        let queries = g
            .get("webSearchQueries")
            .cloned()
            .unwrap_or_else(|| json!([]));
        if !pages.is_empty() || queries.as_array().is_some_and(|q| !q.is_empty()) {
            calls.push(ServerToolCall {
                id: String::new(),
                name: "web_search".into(),
                arguments: json!({ "queries": queries }).to_string(),
                sources: pages,
            });
        }
    }
    if let Some(u) = candidate.get("urlContextMetadata") {
        let fetched: Vec<WebSource> = u
            .get("urlMetadata")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some(WebSource {
                    url: m.get("retrievedUrl")?.as_str()?.to_owned(),
                    title: None,
                })
            })
            .collect();
        let urls: Vec<&str> = fetched.iter().map(|w| w.url.as_str()).collect();
        calls.push(ServerToolCall {
            id: String::new(),
            name: "web_fetch".into(),
            arguments: json!({ "urls": urls }).to_string(),
            sources: fetched,
        });
    }
    (citations, calls)
}

fn read_usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64);
    let prompt = n("promptTokenCount")
        .unwrap_or(0)
        .saturating_add(n("toolUsePromptTokenCount").unwrap_or(0));
    let thoughts = n("thoughtsTokenCount");
    let completion = n("candidatesTokenCount")
        .unwrap_or(0)
        .saturating_add(thoughts.unwrap_or(0));
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: n("totalTokenCount").unwrap_or(prompt.saturating_add(completion)),
        reasoning_tokens: thoughts,
        cached_tokens: n("cachedContentTokenCount"),
        ..Usage::default()
    }
}

/// What a stream's chunks build: the parts of the answer (consecutive text
/// of one kind merged), and the last chunk's metadata.
pub(crate) struct ChunkEvents {
    parts: Vec<Value>,
    last: Value,
    finished: bool,
    calls: usize,
    model: String,
    key: Option<ApiKey>,
    max_tool_calls: usize,
}

/// Reads a streamed Gemini answer: SSE bytes in, [`StreamEvent`]s out.
pub(crate) type StreamDecoder = SseJson<ChunkEvents>;

/// A decoder for a stream of `model`.
pub(crate) fn stream_decoder(model: String, key: Option<ApiKey>, limits: &Limits) -> StreamDecoder {
    SseJson::new(
        ChunkEvents {
            parts: Vec::new(),
            last: Value::Null,
            finished: false,
            calls: 0,
            model,
            key,
            max_tool_calls: limits.max_tool_calls,
        },
        limits,
    )
}

impl ChunkEvents {
    /// Adds a part, merging text into the text before it when both are
    /// answer (or both thought) and the earlier one is not yet signed.
    fn add_part(&mut self, p: Value, out: &mut VecDeque<Result<StreamEvent>>) -> Result<()> {
        if let Some(call) = p.get("functionCall") {
            let call = call_of(call, self.calls, self.max_tool_calls)?;
            let index = self.calls;
            self.calls += 1;
            out.push_back(Ok(StreamEvent::ToolCallStarted {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            }));
            out.push_back(Ok(StreamEvent::ToolCallArgumentsDelta {
                index,
                delta: call.arguments.clone(),
            }));
            out.push_back(Ok(StreamEvent::ToolCallReady { index, call }));
            self.parts.push(p);
            return Ok(());
        }
        let Some(text) = p.get("text").and_then(Value::as_str) else {
            self.parts.push(p);
            return Ok(());
        };
        // An empty text part (streams end with one) carries nothing.
        if text.is_empty() && p.as_object().is_some_and(|o| o.len() == 1) {
            return Ok(());
        }
        let thought = p.get("thought") == Some(&Value::Bool(true));
        out.push_back(Ok(if thought {
            StreamEvent::ReasoningDelta(text.to_owned())
        } else {
            StreamEvent::TextDelta(text.to_owned())
        }));
        let mergeable = |prev: &Value| {
            prev.get("text").is_some()
                && prev.get("thoughtSignature").is_none()
                && (prev.get("thought") == Some(&Value::Bool(true))) == thought
                && prev
                    .as_object()
                    .is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "text" | "thought")))
        };
        match self.parts.last_mut() {
            Some(prev) if mergeable(prev) => {
                let joined = format!(
                    "{}{text}",
                    prev.get("text").and_then(Value::as_str).unwrap_or_default()
                );
                json::set(prev, "text", joined);
                if let Some(sig) = p.get("thoughtSignature") {
                    json::set(prev, "thoughtSignature", sig.clone());
                }
            }
            _ => self.parts.push(p),
        }
        Ok(())
    }

    fn answer(&mut self) -> Result<ChatResponse> {
        let mut v = std::mem::take(&mut self.last);
        let parts = std::mem::take(&mut self.parts);
        let candidate = v
            .pointer("/candidates/0")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut candidate = candidate;
        if let Some(c) = json::object_at(&mut candidate, "content") {
            c.insert("parts".into(), Value::Array(parts));
            c.insert("role".into(), "model".into());
        }
        json::set(&mut v, "candidates", json!([candidate]));
        read_response(&v, &self.model, self.key.as_ref(), self.max_tool_calls)
    }
}

impl JsonEvents for ChunkEvents {
    fn event(
        &mut self,
        v: Value,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        if let Some(e) = error_of(&v, &self.model, self.key.as_ref()) {
            return Err(e);
        }
        if v.get("candidates").is_none()
            && let Some(reason) = v
                .pointer("/promptFeedback/blockReason")
                .and_then(Value::as_str)
        {
            return Err(Error::Blocked {
                reason: reason.to_owned(),
                message: None,
            });
        }
        if let Some(parts) = v
            .pointer("/candidates/0/content/parts")
            .and_then(Value::as_array)
        {
            for p in parts.clone() {
                self.add_part(p, out)?;
            }
        }
        if v.pointer("/candidates/0/finishReason").is_some() {
            self.finished = true;
        }
        // Metadata (usage, grounding, finish reason) as the latest chunk has it.
        let mut meta = v;
        if let Some(Value::Object(old)) = self.last.pointer("/candidates/0").cloned()
            && let Some(Value::Array(cands)) = meta.get_mut("candidates")
            && let Some(Value::Object(c)) = cands.first_mut()
        {
            for (k, val) in old {
                c.entry(k).or_insert(val);
            }
        }
        self.last = meta;
        Ok(None)
    }

    fn at_end(&mut self, _out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        if self.finished {
            self.answer()
        } else {
            Err(Error::Connection(
                "the stream ended before the model said why it stopped".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_parts_go_back_unchanged_and_results_are_grouped() {
        let call = ToolCall::new("c1", "f", r#"{"a":1}"#);
        let parts = json!([{"text": "hm", "thought": true}, {"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "sig"}]);
        let mut answer = Message::assistant_tool_calls(vec![call.clone()]);
        if let Message::Assistant { provider_state, .. } = &mut answer {
            *provider_state = Some(ProviderState {
                provider: PROVIDER.into(),
                data: json!({ "parts": parts }),
            });
        }
        let req = ChatRequest::new(vec![
            Message::user("hi"),
            answer,
            Message::tool_error(&call, "boom"),
        ]);
        let body = request_body(&req, None, None).unwrap();
        assert_eq!(body["contents"][1]["parts"], parts);
        assert_eq!(
            body["contents"][2]["parts"][0]["functionResponse"]["response"],
            json!({"error": "boom"})
        );
    }

    #[test]
    fn a_blocked_prompt_is_a_typed_error() {
        let err = parse_response(r#"{"promptFeedback": {"blockReason": "SAFETY"}}"#).unwrap_err();
        assert!(matches!(err, Error::Blocked { ref reason, .. } if reason == "SAFETY"));
    }

    #[test]
    fn model_names_are_one_path_segment() {
        assert_eq!(path_segment("bad model"), "bad%20model");
        assert_eq!(path_segment("a/../b"), "a%2F..%2Fb");
    }
}

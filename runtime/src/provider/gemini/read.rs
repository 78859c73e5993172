//! The Gemini wire format, read: answers into a [`ChatResponse`]. A
//! stream's chunks are merged into the response a blocking call returns and
//! read by the same function.

use std::collections::VecDeque;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::chat::{
    ChatResponse, Citation, CitationSource, FinishReason, ProviderState, RateLimits,
    ServerToolCall, StreamEvent, ToolCall, Usage, WebSource,
};
use crate::error::{Error, Result};
use crate::provider::http::{
    ApiKey, Limits, error_status_in, status_error, too_large, too_many_tool_calls,
};
use crate::provider::json;

use super::{STATE_NAME, typed_error};
use crate::provider::lenient::{Count, Counts, Items, Obj, Slots, Text};
use crate::provider::streaming::{JsonEvents, SseJson};

/// Reads a blocking Gemini answer.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when `body` is not an answer, [`ErrorKind::Blocked`](crate::ErrorKind::Blocked) for a
/// blocked prompt, the provider's error for an error body.
#[cfg(any(test, feature = "testing"))]
pub fn parse_response(body: &str) -> Result<ChatResponse> {
    parse_response_within(body, "", &Limits::default())
}

/// As [`parse_response`], for `model`, within `limits` (tool calls, parts).
pub(super) fn parse_response_within(
    body: &str,
    model: &str,
    limits: &Limits,
) -> Result<ChatResponse> {
    let answer: Answer<'_> =
        serde_json::from_str(body).map_err(|_| Error::protocol("an answer", body))?;
    let mut meta = Meta::default();
    let mut parts = Parts::new(limits);
    let has_candidate = answer.candidates.is_some();
    meta.read(answer, &mut parts, None, model, None)?;
    if !has_candidate {
        return Err(Error::protocol("an answer (no candidates)", body));
    }
    meta.response(parts)
}

/// One Gemini answer: a blocking body, or one chunk of a stream. Only the
/// first candidate is read; its parts stay raw JSON here and are read one by
/// one into [`Parts`], so a long list of tiny parts costs no more memory than
/// their merged text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer<'a> {
    #[serde(default, borrow, deserialize_with = "first_candidate")]
    candidates: Option<Candidate<'a>>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<Value>,
    #[serde(default)]
    model_version: Option<String>,
    #[serde(default)]
    response_id: Option<String>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(default, borrow)]
    content: Option<CandidateContent<'a>>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    grounding_metadata: Option<Value>,
    #[serde(default)]
    url_context_metadata: Option<Value>,
}

#[derive(Deserialize)]
struct CandidateContent<'a> {
    #[serde(default, borrow)]
    parts: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
    #[serde(default)]
    block_reason_message: Option<String>,
}

/// The first element of a list (the rest skipped without being kept), or
/// `None` for an empty list or `null`.
fn first_candidate<'de, D>(d: D) -> std::result::Result<Option<Candidate<'de>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<Candidate<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of candidates")
        }
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let first = seq.next_element::<Candidate<'de>>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(First)
}

/// The parts of one answer as they arrive: adjacent text of one kind merged
/// in place (so merging stays linear in the text), calls counted, and the
/// number of parts bounded by [`Limits::max_parts`].
struct Parts {
    list: Vec<Value>,
    calls: Vec<ToolCall>,
    max_calls: usize,
    max_parts: usize,
}

impl Parts {
    fn new(limits: &Limits) -> Self {
        Self {
            list: Vec::new(),
            calls: Vec::new(),
            max_calls: limits.max_tool_calls,
            max_parts: limits.max_parts,
        }
    }

    /// Reads a raw `parts` list, adding each part (events to `out` when
    /// streaming). A typed error (a limit) stops the reading.
    fn read(
        &mut self,
        raw: &RawValue,
        out: Option<&mut VecDeque<Result<StreamEvent>>>,
    ) -> Result<()> {
        let mut failed = None;
        let seed = PartsSeed {
            parts: self,
            out,
            failed: &mut failed,
        };
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let read = seed.deserialize(&mut de);
        match (failed, read) {
            (Some(e), _) => Err(e),
            (None, Ok(())) => Ok(()),
            (None, Err(_)) => Err(Error::protocol("the parts of an answer", raw.get())),
        }
    }

    /// Adds one part: a call becomes a [`ToolCall`] (its `args` made an
    /// object in the part kept for the conversation, so the server never gets
    /// back what it cannot take); text is merged into the text before it when
    /// both are answer (or both thought) and the earlier one is not signed.
    fn add(&mut self, mut p: Value, out: Option<&mut VecDeque<Result<StreamEvent>>>) -> Result<()> {
        if let Some(call) = p.get_mut("functionCall") {
            let tool_call = call_of(call, self.calls.len(), self.max_calls)?;
            if !call.get("args").is_some_and(Value::is_object) {
                json::set(call, "args", Value::Object(Map::new()));
            }
            let index = self.calls.len();
            self.calls.push(tool_call.clone());
            if let Some(out) = out {
                out.push_back(Ok(StreamEvent::ToolCallStarted {
                    index,
                    id: tool_call.id.clone(),
                    name: tool_call.name.clone(),
                }));
                out.push_back(Ok(StreamEvent::ToolCallArgumentsDelta {
                    index,
                    delta: tool_call.arguments.clone(),
                }));
                out.push_back(Ok(StreamEvent::ToolCallReady {
                    index,
                    call: tool_call,
                }));
            }
            return self.push(p);
        }
        let Some(text) = p.get("text").and_then(Value::as_str) else {
            // An empty object carries nothing.
            if p.as_object().is_some_and(Map::is_empty) {
                return Ok(());
            }
            return self.push(p);
        };
        // An empty text part (streams end with one) carries nothing.
        if text.is_empty() && p.as_object().is_some_and(|o| o.len() == 1) {
            return Ok(());
        }
        let thought = p.get("thought") == Some(&Value::Bool(true));
        if let Some(out) = out {
            out.push_back(Ok(if thought {
                StreamEvent::ReasoningDelta(text.to_owned())
            } else {
                StreamEvent::TextDelta(text.to_owned())
            }));
        }
        let mergeable = |prev: &Value| {
            prev.get("text").is_some()
                && prev.get("thoughtSignature").is_none()
                && (prev.get("thought") == Some(&Value::Bool(true))) == thought
                && prev
                    .as_object()
                    .is_some_and(|o| o.keys().all(|k| matches!(k.as_str(), "text" | "thought")))
        };
        match self.list.last_mut() {
            Some(prev) if mergeable(prev) => {
                if let Some(Value::String(joined)) = prev.get_mut("text") {
                    joined.push_str(text);
                }
                if let Some(sig) = p.get_mut("thoughtSignature").map(Value::take) {
                    json::set(prev, "thoughtSignature", sig);
                }
                Ok(())
            }
            _ => self.push(p),
        }
    }

    fn push(&mut self, p: Value) -> Result<()> {
        if self.list.len() >= self.max_parts {
            return Err(too_large(
                "the parts of one answer",
                self.max_parts,
                "max_parts",
            ));
        }
        self.list.push(p);
        Ok(())
    }
}

/// Reads a `parts` list element by element into [`Parts`].
struct PartsSeed<'p, 'o> {
    parts: &'p mut Parts,
    out: Option<&'o mut VecDeque<Result<StreamEvent>>>,
    failed: &'p mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for PartsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PartsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of parts")
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(p) = seq.next_element::<Value>()? {
            if let Err(e) = self.parts.add(p, self.out.as_deref_mut()) {
                *self.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// What an answer says besides its parts; in a stream, as the latest chunk
/// that said it.
#[derive(Default)]
struct Meta {
    response_id: Option<String>,
    model_version: Option<String>,
    usage: Option<Value>,
    finish_reason: Option<String>,
    grounding: Option<Value>,
    url_context: Option<Value>,
}

impl Meta {
    /// Reads `answer` (a body or a chunk): its error or blocked prompt as the
    /// typed error, the same whether blocking or streamed; its parts into
    /// `parts`; the rest into `self`.
    fn read(
        &mut self,
        answer: Answer<'_>,
        parts: &mut Parts,
        out: Option<&mut VecDeque<Result<StreamEvent>>>,
        model: &str,
        key: Option<&ApiKey>,
    ) -> Result<()> {
        if let Some(e) = answer.error.as_ref().and_then(|e| error_of(e, model, key)) {
            return Err(e);
        }
        let Some(candidate) = answer.candidates else {
            if let Some(PromptFeedback {
                block_reason: Some(reason),
                block_reason_message,
            }) = answer.prompt_feedback
            {
                return Err(Error::blocked(reason, block_reason_message));
            }
            self.keep(
                answer.response_id,
                answer.model_version,
                answer.usage_metadata,
            );
            return Ok(());
        };
        if let Some(raw) = candidate.content.and_then(|c| c.parts) {
            parts.read(raw, out)?;
        }
        self.keep(
            answer.response_id,
            answer.model_version,
            answer.usage_metadata,
        );
        newer(&mut self.finish_reason, candidate.finish_reason);
        newer(&mut self.grounding, candidate.grounding_metadata);
        newer(&mut self.url_context, candidate.url_context_metadata);
        Ok(())
    }

    fn keep(&mut self, id: Option<String>, model: Option<String>, usage: Option<Value>) {
        newer(&mut self.response_id, id);
        newer(&mut self.model_version, model);
        newer(&mut self.usage, usage);
    }

    /// The answer these parts and this metadata make.
    fn response(self, parts: Parts) -> Result<ChatResponse> {
        let mut text: Option<String> = None;
        let mut thoughts: Option<String> = None;
        let tool_calls = parts.calls;
        let mut keep = false;
        for p in &parts.list {
            keep |= p.get("thoughtSignature").is_some() || p.get("thought").is_some();
            if p.get("functionCall").is_some() {
                continue;
            }
            if let Some(t) = p
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
        let (citations, server_tool_calls) =
            grounding(self.grounding.as_ref(), self.url_context.as_ref());
        let finish = match self.finish_reason.as_deref() {
            Some("MAX_TOKENS") => FinishReason::Length,
            Some(
                "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
                | "IMAGE_SAFETY",
            ) => FinishReason::ContentFilter,
            Some("MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL") if tool_calls.is_empty() => {
                FinishReason::MalformedToolCall
            }
            _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
            Some("STOP") | None => FinishReason::Stop,
            Some(other) => FinishReason::Other(other.to_owned()),
        };
        Ok(ChatResponse {
            id: self.response_id.unwrap_or_default(),
            model: self.model_version.unwrap_or_default(),
            content: text,
            reasoning: thoughts,
            tool_calls,
            finish_reason: finish,
            usage: typed::<UsageMetadata>(self.usage.as_ref())
                .as_ref()
                .map(usage)
                .unwrap_or_default(),
            citations,
            server_tool_calls,
            provider_state: keep.then(|| ProviderState {
                provider: STATE_NAME.into(),
                data: json!({ "parts": parts.list }),
            }),
            ..ChatResponse::default()
        })
    }
}

/// `new` in `slot` when there is one (a later chunk says it again).
fn newer<T>(slot: &mut Option<T>, new: Option<T>) {
    if new.is_some() {
        *slot = new;
    }
}

/// The error object of an answer, typed.
fn error_of(error: &Value, model: &str, key: Option<&ApiKey>) -> Option<Error> {
    if !error.is_object() {
        return None;
    }
    let status = error_status_in(error, 500);
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

/// A `functionCall` part as the answer's call number `count` (from 0),
/// refused past `max` calls. Its arguments are what the model wrote, even
/// when that is not an object (the tool's decoding says what is wrong).
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

/// `usageMetadata`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: Count,
    #[serde(default)]
    tool_use_prompt_token_count: Count,
    #[serde(default)]
    thoughts_token_count: Count,
    #[serde(default)]
    candidates_token_count: Count,
    #[serde(default)]
    total_token_count: Count,
    #[serde(default)]
    cached_content_token_count: Count,
}

/// `groundingMetadata`: the pages Google Search found, what of the answer
/// each supports, and the queries made.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroundingMetadata<'a> {
    /// By position: `groundingChunkIndices` index into this list.
    #[serde(default, borrow)]
    grounding_chunks: Slots<GroundingChunk<'a>>,
    #[serde(default, borrow)]
    grounding_supports: Items<GroundingSupport<'a>>,
    #[serde(default)]
    web_search_queries: Option<Value>,
}

#[derive(Deserialize)]
struct GroundingChunk<'a> {
    #[serde(default, borrow)]
    web: Obj<WebPage<'a>>,
}

#[derive(Deserialize)]
struct WebPage<'a> {
    #[serde(default, borrow)]
    uri: Text<'a>,
    #[serde(default, borrow)]
    title: Text<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroundingSupport<'a> {
    #[serde(default, borrow)]
    segment: Obj<Segment<'a>>,
    #[serde(default)]
    grounding_chunk_indices: Counts,
}

#[derive(Deserialize)]
struct Segment<'a> {
    #[serde(default, borrow)]
    text: Text<'a>,
}

/// `urlContextMetadata`: the pages the URL context tool fetched.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlContextMetadata<'a> {
    #[serde(default, borrow)]
    url_metadata: Items<UrlMetadata<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlMetadata<'a> {
    #[serde(default, borrow)]
    retrieved_url: Text<'a>,
}

/// `T` read from JSON a stream kept across chunks (`None` unless an object).
fn typed<'v, T: Deserialize<'v>>(v: Option<&'v Value>) -> Option<T> {
    Obj::<T>::deserialize(v?).ok().and_then(|o| o.0)
}

/// What Google Search or URL context grounding found: citations of the web
/// pages the answer used, and the searches (or fetches) made.
fn grounding(
    grounding: Option<&Value>,
    url_context: Option<&Value>,
) -> (Vec<Citation>, Vec<ServerToolCall>) {
    let mut citations = Vec::new();
    let mut calls = Vec::new();
    if let Some(g) = typed::<GroundingMetadata<'_>>(grounding) {
        // Each chunk at its position (the supports index into the chunks),
        // `None` where a chunk is no web page.
        let pages: Vec<Option<WebSource>> = g
            .grounding_chunks
            .0
            .iter()
            .map(|c| {
                let web = c.as_ref()?.web.0.as_ref()?;
                Some(WebSource {
                    url: web.uri.0.as_deref()?.to_owned(),
                    title: web.title.0.as_deref().map(str::to_owned),
                })
            })
            .collect();
        for s in &g.grounding_supports.0 {
            let cited = s
                .segment
                .0
                .as_ref()
                .and_then(|seg| seg.text.0.as_deref())
                .unwrap_or_default();
            for &i in &s.grounding_chunk_indices.0 {
                if let Some(Some(page)) = usize::try_from(i).ok().and_then(|i| pages.get(i)) {
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
        let pages: Vec<WebSource> = pages.into_iter().flatten().collect();
        let queries = g.web_search_queries.unwrap_or_else(|| json!([]));
        if !pages.is_empty() || queries.as_array().is_some_and(|q| !q.is_empty()) {
            calls.push(ServerToolCall {
                id: String::new(),
                name: "web_search".into(),
                arguments: json!({ "queries": queries }).to_string(),
                sources: pages,
            });
        }
    }
    if let Some(u) = typed::<UrlContextMetadata<'_>>(url_context) {
        let fetched: Vec<WebSource> = u
            .url_metadata
            .0
            .iter()
            .filter_map(|m| {
                Some(WebSource {
                    url: m.retrieved_url.0.as_deref()?.to_owned(),
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

fn usage(u: &UsageMetadata) -> Usage {
    let n = |c: Count| c.0;
    let prompt = n(u.prompt_token_count)
        .unwrap_or(0)
        .saturating_add(n(u.tool_use_prompt_token_count).unwrap_or(0));
    let thoughts = n(u.thoughts_token_count);
    let completion = n(u.candidates_token_count)
        .unwrap_or(0)
        .saturating_add(thoughts.unwrap_or(0));
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: n(u.total_token_count).unwrap_or(prompt.saturating_add(completion)),
        reasoning_tokens: thoughts,
        cached_tokens: n(u.cached_content_token_count),
        ..Usage::default()
    }
}

/// What a stream's chunks build: the parts of the answer (consecutive text
/// of one kind merged) and what the latest chunks said of the rest.
pub(crate) struct ChunkEvents {
    parts: Parts,
    meta: Meta,
    finished: bool,
    model: String,
    key: Option<ApiKey>,
}

/// Reads a streamed Gemini answer: SSE bytes in, [`StreamEvent`]s out.
pub(crate) type StreamDecoder = SseJson<ChunkEvents>;

/// A decoder for a stream of `model`.
pub(crate) fn stream_decoder(model: String, key: Option<ApiKey>, limits: &Limits) -> StreamDecoder {
    SseJson::new(
        ChunkEvents {
            parts: Parts::new(limits),
            meta: Meta::default(),
            finished: false,
            model,
            key,
        },
        limits,
    )
}

impl JsonEvents for ChunkEvents {
    fn event(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<StreamEvent>>,
    ) -> Result<Option<ChatResponse>> {
        let answer: Answer<'_> = serde_json::from_str(data)
            .map_err(|_| Error::protocol("an event of the stream", data))?;
        let finishing = answer
            .candidates
            .as_ref()
            .is_some_and(|c| c.finish_reason.is_some());
        self.meta.read(
            answer,
            &mut self.parts,
            Some(out),
            &self.model,
            self.key.as_ref(),
        )?;
        self.finished |= finishing;
        Ok(None)
    }

    fn at_end(&mut self, _out: &mut VecDeque<Result<StreamEvent>>) -> Result<ChatResponse> {
        if self.finished {
            let parts = std::mem::replace(&mut self.parts, Parts::new(&Limits::default()));
            std::mem::take(&mut self.meta).response(parts)
        } else {
            Err(Error::connection(
                "the stream ended before the model said why it stopped",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grounding_is_read_typed_and_leniently() {
        let search = json!({
            "webSearchQueries": ["capital of France"],
            "groundingChunks": [
                {"web": {"uri": "https://a.example", "title": "A"}},
                {"web": {"title": "no uri"}},
                "not a chunk",
                {"web": {"uri": "https://b.example"}}
            ],
            "groundingSupports": [
                {"segment": {"text": "Paris"}, "groundingChunkIndices": [0, "x", 1, 3, 99]},
                {"segment": 5, "groundingChunkIndices": 1}
            ]
        });
        let fetched = json!({"urlMetadata": [{"retrievedUrl": "https://c.example"}, {}]});
        let (citations, calls) = grounding(Some(&search), Some(&fetched));
        let cited: Vec<(&str, String)> = citations
            .iter()
            .map(|c| match &c.source {
                CitationSource::Web { url, .. } => (c.cited_text.as_str(), url.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            cited,
            [
                ("Paris", "https://a.example".to_owned()),
                ("Paris", "https://b.example".to_owned())
            ],
            "indices point into the chunks as listed (1 and 2 are no pages); bad ones are skipped"
        );
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "web_search");
        assert_eq!(calls[0].sources.len(), 2);
        assert_eq!(calls[1].name, "web_fetch");
        assert_eq!(calls[1].sources.len(), 1);
        let usage = usage(
            &serde_json::from_value(json!({
                "promptTokenCount": 10, "toolUsePromptTokenCount": 2, "thoughtsTokenCount": 3,
                "candidatesTokenCount": 4, "cachedContentTokenCount": "x"
            }))
            .unwrap(),
        );
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (12, 7, 19)
        );
        assert_eq!(
            (usage.reasoning_tokens, usage.cached_tokens),
            (Some(3), None)
        );
    }

    #[test]
    fn a_blocked_prompt_is_a_typed_error() {
        let err = parse_response(r#"{"promptFeedback": {"blockReason": "SAFETY"}}"#).unwrap_err();
        assert_eq!(err.blocked_reason().map(|(r, _)| r), Some("SAFETY"));
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    /// One chunk of a Gemini stream, well-formed or hostile.
    fn gemini_chunk() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"text":"{t}"}}"#)),
            "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"text":"{t}","thought":true}}"#)),
            Just(r#"{"text":"x","thoughtSignature":"sig"}"#.to_owned()),
            Just(
                r#"{"functionCall":{"id":"c","name":"f","args":{"x":1}},"thoughtSignature":"s"}"#
                    .to_owned()
            ),
            Just(r#"{"functionCall":7}"#.to_owned()),
            Just(r#"{"functionCall":{"id":"c","name":"f","args":"x"}}"#.to_owned()),
            Just(r#"{"functionCall":{"name":"f","args":[1]}}"#.to_owned()),
            Just("{}".to_owned()),
            Just(r#"{"text":7}"#.to_owned()),
            Just("null".to_owned()),
        ];
        let parts = proptest::collection::vec(part, 0..3).prop_map(|p| p.join(","));
        let finish = prop_oneof![
            Just(String::new()),
            Just(r#","finishReason":"STOP""#.to_owned()),
            Just(r#","finishReason":"MAX_TOKENS""#.to_owned()),
            Just(r#","finishReason":7"#.to_owned()),
            Just(r#","finishReason":"MALFORMED_FUNCTION_CALL""#.to_owned()),
        ];
        let usage = prop_oneof![
            Just(String::new()),
            Just(r#","usageMetadata":{"promptTokenCount":1e300,"candidatesTokenCount":-1,"thoughtsTokenCount":18446744073709551615}"#.to_owned()),
        ];
        prop_oneof![
            (parts, finish, usage).prop_map(|(p, f, u)| format!(
                r#"{{"candidates":[{{"content":{{"parts":[{p}],"role":"model"}}{f}}}]{u}}}"#
            )),
            Just(r#"{"candidates":[{"content":7}]}"#.to_owned()),
            Just(r#"{"candidates":7}"#.to_owned()),
            Just(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#.to_owned()),
            Just(r#"{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}"#.to_owned()),
            Just(r#"{"candidates":[{"finishReason":"STOP"},{"content":7}]}"#.to_owned()),
            Just(r#"{"error":{"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#.to_owned()),
            Just(r#"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#.to_owned()),
            Just(r#"{"error":{"code":99999999999,"message":"odd"}}"#.to_owned()),
            Just("not json".to_owned()),
        ]
    }

    #[test]
    fn fuzz_gemini_stream() {
        fuzz_stream_decoder(
            "gemini_stream",
            gemini_chunk(),
            0..10,
            1..4,
            |c| format!("data: {c}\r\n\r\n"),
            |limits| super::stream_decoder("m".into(), None, limits),
        );
    }
}

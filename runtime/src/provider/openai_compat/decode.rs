//! Chat completions, reading an answer: the wire types of a completion (a
//! blocking body or one chunk of a stream, which differ in `message` and
//! `delta`), a blocking answer → [`ChatResponse`], and the usage, timing and
//! logprob shapes streams share.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::chat::{
    ChatResponse, Citation, CitationSource, FinishReason, Media, RateLimits, ServerToolCall,
    TimeInfo, TokenLogprob, ToolCall, TopLogprob, Usage, WebSource, separate_reasoning,
};
use crate::error::{Error, Result};
use crate::provider::http::error_in_answer;
use crate::provider::lenient::{Count, Items, Obj, Real, Text, first_object};

/// A chat completion, or one chunk of a streamed one. Only the first choice
/// is read; fields of an unexpected type read as absent (see `lenient`).
#[derive(Deserialize)]
pub(super) struct Completion<'a> {
    #[serde(default, borrow)]
    pub id: Text<'a>,
    #[serde(default, borrow)]
    pub model: Text<'a>,
    #[serde(default, borrow)]
    pub system_fingerprint: Text<'a>,
    #[serde(default, borrow, deserialize_with = "first_object")]
    pub choices: Option<Choice<'a>>,
    #[serde(default)]
    pub usage: Obj<WireUsage>,
    /// Cerebras's timings (the four timing fields Groq puts in `usage`).
    #[serde(default)]
    pub time_info: Obj<WireUsage>,
    /// Groq's compound models put a stream's usage here.
    #[serde(default)]
    pub x_groq: Obj<GroqExtras>,
    /// llama.cpp streams its counts so when no usage was asked for.
    #[serde(default)]
    pub timings: Obj<LlamaCppTimings>,
    /// An error reported in the body (a stream's error event, a relayed
    /// upstream refusal).
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
    /// Perplexity's sources: the URLs the answer's `[n]` markers number
    /// (a list of strings; every chunk of a stream repeats it).
    #[serde(default, borrow)]
    pub citations: Option<&'a RawValue>,
    /// Perplexity's search: the pages it found.
    #[serde(default, borrow)]
    pub search_results: Items<SearchResult<'a>>,
}

/// A page Perplexity's search found.
#[derive(Deserialize)]
pub(super) struct SearchResult<'a> {
    #[serde(default, borrow)]
    url: Text<'a>,
    #[serde(default, borrow)]
    title: Text<'a>,
}

impl Completion<'_> {
    /// The search a vendor ran on its own (Perplexity's `search_results`),
    /// as a `web_search` call with the pages found; `None` when it found
    /// nothing (or did not search).
    pub fn search(&self) -> Option<ServerToolCall> {
        let pages: Vec<WebSource> = self
            .search_results
            .0
            .iter()
            .filter_map(|r| {
                Some(WebSource {
                    url: r.url.0.as_deref()?.to_owned(),
                    title: r.title.0.as_deref().map(str::to_owned),
                })
            })
            .collect();
        ServerToolCall::web_search_found(pages)
    }

    /// The sources cited for the whole answer (Perplexity's `citations`), as
    /// web citations titled from the search results where one matches; the
    /// answer's `[n]` markers number them from 1.
    pub fn citations(&self) -> Vec<Citation> {
        let Some(raw) = self.citations else {
            return Vec::new();
        };
        let urls: Vec<Text<'_>> = serde_json::from_str(raw.get()).unwrap_or_default();
        urls.into_iter()
            .filter_map(|u| u.owned())
            .map(|url| {
                let title = self
                    .search_results
                    .0
                    .iter()
                    .find(|r| r.url.0.as_deref() == Some(url.as_str()))
                    .and_then(|r| r.title.0.as_deref())
                    .map(str::to_owned);
                Citation {
                    cited_text: String::new(),
                    source: CitationSource::Web { url, title },
                }
            })
            .collect()
    }
}

/// The first choice: a blocking answer's `message` or a chunk's `delta`.
#[derive(Deserialize)]
pub(super) struct Choice<'a> {
    #[serde(default, borrow)]
    pub message: Obj<WireMessage<'a>>,
    #[serde(default, borrow)]
    pub delta: Obj<WireMessage<'a>>,
    #[serde(default, borrow)]
    pub finish_reason: Text<'a>,
    #[serde(default, borrow)]
    pub logprobs: Option<&'a RawValue>,
}

/// What the model said (whole, or a piece of it).
#[derive(Deserialize)]
pub(super) struct WireMessage<'a> {
    #[serde(default, borrow)]
    pub content: Text<'a>,
    #[serde(default, borrow)]
    pub reasoning: Text<'a>,
    #[serde(default, borrow)]
    pub reasoning_content: Text<'a>,
    #[serde(default, borrow)]
    pub tool_calls: Items<WireCall<'a>>,
    /// Groq's tools run on its side.
    #[serde(default, borrow)]
    pub executed_tools: Option<&'a RawValue>,
    /// Sources the answer cites (`url_citation`s of a web search: OpenAI's
    /// `{"url_citation": {url, title}}`, Xiaomi's `{url, title}`).
    #[serde(default, borrow)]
    pub annotations: Items<Annotation<'a>>,
    /// Speech the model made (`{"id", "data": base64, "transcript"}`).
    #[serde(default, borrow)]
    pub audio: Obj<WireAudio<'a>>,
}

/// A message's `audio`.
#[derive(Deserialize)]
pub(super) struct WireAudio<'a> {
    #[serde(default, borrow)]
    data: Text<'a>,
}

/// One of a message's `annotations`.
#[derive(Deserialize)]
pub(super) struct Annotation<'a> {
    #[serde(default, rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    url: Text<'a>,
    #[serde(default, borrow)]
    title: Text<'a>,
    #[serde(default, borrow)]
    url_citation: Obj<SearchResult<'a>>,
}

/// The web pages `annotations` cite, in order.
pub(super) fn cited_pages(annotations: &Items<Annotation<'_>>) -> Vec<WebSource> {
    annotations
        .0
        .iter()
        .filter(|a| a.kind.0.as_deref() == Some("url_citation"))
        .filter_map(|a| {
            let (url, title) = match &a.url_citation.0 {
                Some(inner) => (&inner.url, &inner.title),
                None => (&a.url, &a.title),
            };
            Some(WebSource {
                url: url.0.as_deref()?.to_owned(),
                title: title.0.as_deref().map(str::to_owned),
            })
        })
        .collect()
}

/// Pages cited as citations of the whole answer.
pub(super) fn page_citations(pages: &[WebSource]) -> Vec<Citation> {
    pages
        .iter()
        .map(|p| Citation {
            cited_text: String::new(),
            source: CitationSource::Web {
                url: p.url.clone(),
                title: p.title.clone(),
            },
        })
        .collect()
}

impl<'a> WireMessage<'a> {
    /// The answer's text and reasoning, whichever field carried the latter.
    pub fn content_and_reasoning(&mut self) -> (Option<String>, Option<String>) {
        let reasoning = std::mem::take(&mut self.reasoning)
            .owned()
            .or_else(|| std::mem::take(&mut self.reasoning_content).owned());
        (std::mem::take(&mut self.content).owned(), reasoning)
    }
}

/// A tool call (whole, or a piece of it with its `index`).
#[derive(Deserialize)]
pub(super) struct WireCall<'a> {
    #[serde(default)]
    pub index: Count,
    #[serde(default, borrow)]
    pub id: Text<'a>,
    #[serde(default, borrow)]
    pub function: Obj<WireFunction<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct WireFunction<'a> {
    #[serde(default, borrow)]
    pub name: Text<'a>,
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
}

impl WireFunction<'_> {
    /// The arguments as the model wrote them: a JSON string's text, other
    /// JSON as written, `None` when absent or `null`.
    pub fn arguments(&self) -> Option<String> {
        let raw = self.arguments?;
        match serde_json::from_str::<Text<'_>>(raw.get()) {
            Ok(Text(Some(s))) => Some(s.into_owned()),
            _ if raw.get() == "null" => None,
            _ => Some(raw.get().to_owned()),
        }
    }
}

/// `usage`, with Groq's timings where it puts them; also read for Cerebras's
/// `time_info`, which holds the same four timing fields alone.
#[derive(Deserialize, Default)]
pub(super) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Count,
    #[serde(default)]
    completion_tokens: Count,
    #[serde(default)]
    total_tokens: Count,
    #[serde(default)]
    completion_tokens_details: Obj<ReasoningTokens>,
    #[serde(default)]
    prompt_tokens_details: Obj<CachedTokens>,
    #[serde(default)]
    queue_time: Real,
    #[serde(default)]
    prompt_time: Real,
    #[serde(default)]
    completion_time: Real,
    #[serde(default)]
    total_time: Real,
}

#[derive(Deserialize)]
struct ReasoningTokens {
    #[serde(default)]
    reasoning_tokens: Count,
}

#[derive(Deserialize)]
struct CachedTokens {
    #[serde(default)]
    cached_tokens: Count,
}

#[derive(Deserialize)]
pub(super) struct GroqExtras {
    #[serde(default)]
    pub usage: Obj<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct LlamaCppTimings {
    #[serde(default)]
    prompt_n: Count,
    #[serde(default)]
    cache_n: Count,
    #[serde(default)]
    predicted_n: Count,
}

impl WireUsage {
    /// The timings, when the server gave any (in seconds).
    fn time(&self) -> Option<TimeInfo> {
        let f = |r: Real| r.0.unwrap_or(0.0);
        [
            self.queue_time,
            self.prompt_time,
            self.completion_time,
            self.total_time,
        ]
        .iter()
        .any(|r| r.0.is_some())
        .then(|| TimeInfo {
            queue_time: f(self.queue_time),
            prompt_time: f(self.prompt_time),
            completion_time: f(self.completion_time),
            total_time: f(self.total_time),
        })
    }

    /// The usage; `time_info` (Cerebras's, beside the usage) wins over timings
    /// inside it (Groq's).
    pub fn usage(&self, time_info: &Obj<WireUsage>) -> Usage {
        let n = |c: Count| c.0.unwrap_or(0);
        Usage {
            prompt_tokens: n(self.prompt_tokens),
            completion_tokens: n(self.completion_tokens),
            total_tokens: n(self.total_tokens),
            reasoning_tokens: self
                .completion_tokens_details
                .0
                .as_ref()
                .and_then(|d| d.reasoning_tokens.0),
            cached_tokens: self
                .prompt_tokens_details
                .0
                .as_ref()
                .and_then(|d| d.cached_tokens.0),
            cache_write_tokens: None,
            time: time_info
                .0
                .as_ref()
                .and_then(WireUsage::time)
                .or_else(|| self.time()),
            inference_id: None,
        }
    }
}

impl LlamaCppTimings {
    /// llama.cpp's `timings` (`prompt_n`, `predicted_n`) as token counts.
    pub fn usage(&self) -> Usage {
        let n = |c: Count| c.0.unwrap_or(0);
        let (prompt, completion) = (
            n(self.prompt_n).saturating_add(n(self.cache_n)),
            n(self.predicted_n),
        );
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt.saturating_add(completion),
            ..Usage::default()
        }
    }
}

/// Parses a blocking answer. `rate_limits` (the headers') go into an error
/// the body reports; the caller puts them, and the inference id, on an
/// answer.
pub(crate) fn parse_response(body: &str, rate_limits: &RateLimits) -> Result<ChatResponse> {
    let completion: Completion<'_> = match serde_json::from_str(body) {
        Ok(Obj(Some(c))) => c,
        Ok(Obj(None)) => return Err(Error::protocol("a chat completion (not an object)", body)),
        Err(e) => return Err(Error::protocol(format!("a chat completion ({e})"), body)),
    };
    let (search, citations) = (completion.search(), completion.citations());
    let Some(mut choice) = completion.choices else {
        // An error in a successful answer (OpenRouter relays an upstream
        // provider's refusal so): typed by the status it names.
        if completion.error.is_some_and(|e| e.get().starts_with('{')) {
            return Err(error_in_answer(
                body,
                completion.model.0.as_deref().unwrap_or_default(),
                rate_limits.clone(),
            ));
        }
        return Err(Error::protocol("a chat completion (no `choices`)", body));
    };
    let Some(mut msg) = choice.message.0.take() else {
        return Err(Error::protocol(
            "a chat completion (no `message` object)",
            body,
        ));
    };
    let mut server_tool_calls: Vec<ServerToolCall> = msg
        .executed_tools
        .and_then(|e| serde_json::from_str::<Value>(e.get()).ok())
        .map(|e| executed_tools(&e))
        .unwrap_or_default()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    server_tool_calls.extend(search);
    let mut citations = citations;
    citations.extend(page_citations(&cited_pages(&msg.annotations)));
    let media: Vec<Media> = std::mem::take(&mut msg.audio)
        .0
        .and_then(|a| a.data.owned())
        .filter(|d| !d.is_empty())
        .map(Media::from_base64)
        .into_iter()
        .collect();
    let (content, reasoning) = msg.content_and_reasoning();
    let (content, reasoning) = separate_reasoning(content, reasoning);
    let tool_calls = std::mem::take(&mut msg.tool_calls)
        .0
        .into_iter()
        .map(|c| {
            let f = c.function.0;
            ToolCall::new(
                c.id.owned().unwrap_or_default(),
                f.as_ref()
                    .and_then(|f| f.name.0.as_deref())
                    .unwrap_or_default(),
                f.as_ref()
                    .and_then(WireFunction::arguments)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let usage = completion
        .usage
        .0
        .unwrap_or_default()
        .usage(&completion.time_info);
    let mut response = ChatResponse {
        id: completion.id.owned().unwrap_or_default(),
        model: completion.model.owned().unwrap_or_default(),
        content,
        reasoning,
        tool_calls,
        finish_reason: choice
            .finish_reason
            .0
            .as_deref()
            .map(FinishReason::from_wire)
            .unwrap_or_default(),
        usage,
        logprobs: choice.logprobs.and_then(logprobs_of),
        system_fingerprint: completion.system_fingerprint.owned(),
        server_tool_calls,
        citations,
        media,
        ..ChatResponse::default()
    };
    response.show_search_behind_citations();
    Ok(response)
}

/// Logprobs, when present and readable.
pub(super) fn logprobs_of(raw: &RawValue) -> Option<Vec<TokenLogprob>> {
    if raw.get() == "null" {
        return None;
    }
    serde_json::from_str::<Value>(raw.get())
        .ok()
        .and_then(|l| parse_logprobs(&l))
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The completions-style form (Together): parallel `tokens`,
/// `token_logprobs` and `top_logprobs` lists.
fn completions_logprobs(
    l: &Value,
    scored: &dyn Fn(&Value) -> TopLogprob,
) -> Option<Vec<TokenLogprob>> {
    let tokens = l.get("tokens")?.as_array()?;
    let logprobs = l.get("token_logprobs").and_then(Value::as_array);
    let tops = l.get("top_logprobs").and_then(Value::as_array);
    Some(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenLogprob {
                token: t.as_str().unwrap_or_default().to_owned(),
                logprob: logprobs
                    .and_then(|p| p.get(i))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NEG_INFINITY),
                bytes: None,
                top_logprobs: tops
                    .and_then(|t| t.get(i))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(scored)
                    .collect(),
            })
            .collect(),
    )
}

pub(crate) fn parse_logprobs(l: &Value) -> Option<Vec<TokenLogprob>> {
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
    let Some(content) = l.get("content").and_then(Value::as_array) else {
        return completions_logprobs(l, &scored);
    };
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

/// Reads a blocking chat-completions answer (OpenAI wire format).
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when `body` is not a chat completion.
#[cfg(any(test, feature = "testing"))]
pub fn parse_chat_response(body: &str) -> Result<ChatResponse> {
    parse_response(body, &RateLimits::default())
}

/// Groq's `executed_tools` (its browser search and page visits, run on its
/// side) as server tool calls, each with its position.
pub(crate) fn executed_tools(v: &Value) -> Vec<(usize, ServerToolCall)> {
    v.as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
            let index = t
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(i);
            let kind = format!("{} {}", s("name"), s("type"));
            let name = if kind.contains("search") {
                "web_search"
            } else if kind.contains("open") || kind.contains("visit") {
                "web_fetch"
            } else {
                s("name")
            };
            let sources = t
                .pointer("/search_results/results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(WebSource {
                        url: r.get("url")?.as_str()?.to_owned(),
                        title: r.get("title").and_then(Value::as_str).map(str::to_owned),
                    })
                })
                .collect();
            let call = ServerToolCall {
                id: index.to_string(),
                name: name.to_owned(),
                arguments: s("arguments").to_owned(),
                sources,
            };
            (index, call)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_is_read_typed_and_leniently() {
        // Groq's shape: timings inside `usage`; arguments as an object; an
        // id of the wrong type; a second choice never read.
        let body = r#"{
            "id": 7, "model": "openai/gpt-oss-20b", "system_fingerprint": "fp_1",
            "choices": [
                {"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": null, "reasoning": "Think.",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1}"}},
                        "not a call",
                        {"id": "c2", "function": {"name": "mul", "arguments": {"a": 2}}},
                        {"id": "c3", "function": {"name": "now", "arguments": null}}
                    ]}},
                {"index": 1, "message": {"content": "never read"}}
            ],
            "usage": {"queue_time": 0.25, "prompt_tokens": 100, "prompt_time": 0.5,
                      "completion_tokens": 22, "completion_time": 1, "total_tokens": 122,
                      "total_time": 1.75, "completion_tokens_details": {"reasoning_tokens": 20}}
        }"#;
        let r = parse_response(body, &RateLimits::default()).unwrap();
        assert_eq!(r.id, "", "an id of the wrong type reads as absent");
        assert_eq!(
            (r.model.as_str(), r.system_fingerprint.as_deref()),
            ("openai/gpt-oss-20b", Some("fp_1"))
        );
        assert_eq!(r.finish_reason, FinishReason::ToolCalls);
        assert_eq!(r.reasoning.as_deref(), Some("Think."));
        let calls: Vec<_> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("c1", "add", r#"{"a": 1}"#),
                ("c2", "mul", r#"{"a": 2}"#),
                ("c3", "now", "")
            ]
        );
        assert_eq!(
            (r.usage.prompt_tokens, r.usage.completion_tokens),
            (100, 22)
        );
        assert_eq!(r.usage.reasoning_tokens, Some(20));
        let time = r.usage.time.expect("Groq's timings");
        assert_eq!((time.queue_time, time.total_time), (0.25, 1.75));
    }

    #[test]
    fn perplexitys_search_and_sources_read_as_a_web_search_and_citations() {
        let body = |citations: &str, results: &str| {
            format!(
                r#"{{"id": "p", "citations": {citations}, "search_results": {results},
                "choices": [{{"finish_reason": "stop", "message": {{"content": "Carney[1][2]."}},
                "delta": {{"content": ""}}}}]}}"#
            )
        };
        let searched = body(
            r#"["https://a.example/", 7, "https://b.example/"]"#,
            r#"[{"title": "A", "url": "https://a.example/", "snippet": "…"}, 3, {"title": "C"}]"#,
        );
        let r = parse_response(&searched, &RateLimits::default()).unwrap();
        let cited: Vec<_> = r
            .citations
            .iter()
            .map(|c| match &c.source {
                CitationSource::Web { url, title } => (url.as_str(), title.as_deref()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            cited,
            [
                ("https://a.example/", Some("A")),
                ("https://b.example/", None)
            ],
            "a source not a string is skipped; titles come from the results"
        );
        let [search] = r.server_tool_calls.as_slice() else {
            panic!("{:?}", r.server_tool_calls);
        };
        assert_eq!(search.name, "web_search");
        assert_eq!(search.sources.len(), 1, "a result without a url is none");
        // No search: empty lists, no call, no citation.
        let r = parse_response(&body("[]", "[]"), &RateLimits::default()).unwrap();
        assert!(r.citations.is_empty() && r.server_tool_calls.is_empty());
        // Wrong types read as absent.
        let r = parse_response(&body("\"x\"", "{}"), &RateLimits::default()).unwrap();
        assert!(r.citations.is_empty() && r.server_tool_calls.is_empty());

        // Streamed: every chunk repeats the lists; the answer has them once.
        let chunk = |content: &str, finish: &str| {
            format!(
                "data: {{\"citations\": [\"https://a.example/\"], \"search_results\": [{{\"url\": \"https://a.example/\", \"title\": \"A\"}}], \"choices\": [{{\"delta\": {{\"content\": \"{content}\"}}, \"finish_reason\": {finish}}}]}}\n\n"
            )
        };
        let stream = [
            chunk("Car", "null"),
            chunk("ney[1]", "\"stop\""),
            "data: [DONE]\n\n".to_owned(),
        ]
        .concat();
        let r =
            crate::provider::openai_compat::stream::parse_chat_stream(stream.as_bytes()).unwrap();
        assert_eq!(r.text(), "Carney[1]");
        assert_eq!(r.citations.len(), 1);
        assert_eq!(r.server_tool_calls.len(), 1);
        assert_eq!(
            r.server_tool_calls[0].sources[0].title.as_deref(),
            Some("A")
        );
    }

    #[test]
    fn url_citation_annotations_read_as_citations_of_a_web_search() {
        // Xiaomi's flat form and OpenAI's nested one; other kinds skipped.
        let body = r#"{"choices": [{"finish_reason": "stop", "message": {"content": "Carney",
            "annotations": [
                {"type": "url_citation", "url": "https://a.example/", "title": "A", "summary": "…"},
                {"type": "url_citation", "url_citation": {"url": "https://b.example/", "title": "B",
                 "start_index": 0, "end_index": 6}},
                {"type": "file_citation", "url": "https://c.example/"},
                "junk"
            ]}}]}"#;
        let r = parse_response(body, &RateLimits::default()).unwrap();
        let urls: Vec<_> = r
            .citations
            .iter()
            .map(|c| match &c.source {
                CitationSource::Web { url, .. } => url.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(urls, ["https://a.example/", "https://b.example/"]);
        let [search] = r.server_tool_calls.as_slice() else {
            panic!("{:?}", r.server_tool_calls);
        };
        assert_eq!(
            (search.name.as_str(), search.sources.len()),
            ("web_search", 2)
        );

        // Streamed: annotations come in pieces, in deltas.
        let chunk = |content: &str, url: &str, finish: &str| {
            format!(
                "data: {{\"choices\": [{{\"delta\": {{\"content\": \"{content}\", \"annotations\": [{{\"type\": \"url_citation\", \"url\": \"{url}\"}}]}}, \"finish_reason\": {finish}}}]}}\n\n"
            )
        };
        let stream = [
            chunk("Car", "https://a.example/", "null"),
            chunk("ney", "https://b.example/", "\"stop\""),
        ]
        .concat();
        let r =
            crate::provider::openai_compat::stream::parse_chat_stream(stream.as_bytes()).unwrap();
        assert_eq!(r.citations.len(), 2);
        assert_eq!(r.server_tool_calls[0].sources.len(), 2);
    }

    #[test]
    fn what_is_no_completion_is_a_protocol_error() {
        for body in [
            "[1]",
            "{\"choices\": []}",
            "{\"choices\": [{\"message\": 5}]}",
            "{",
            "{\"id\": \"a\", \"id\": \"b\"}",
        ] {
            let e = parse_response(body, &RateLimits::default()).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Protocol, "{body}");
        }
        // An error in the body keeps the rate limits the headers gave.
        let limits = RateLimits {
            limits: vec![crate::chat::RateLimit {
                resource: crate::chat::RateLimitResource::Requests,
                window: crate::chat::RateLimitWindow::Minute,
                limit: Some(30),
                remaining: Some(0),
                reset: None,
            }],
        };
        let e = parse_response(
            r#"{"error": {"message": "slow down", "code": 429}}"#,
            &limits,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::RateLimited);
        assert_eq!(e.rate_limits(), Some(&limits));
    }
}

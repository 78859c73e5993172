//! The OpenAI chat-completions wire format: [`ChatRequest`] → JSON body, and
//! JSON answers and streams → [`ChatResponse`] / [`StreamEvent`]s.

use std::collections::VecDeque;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use super::http::{ApiKey, Limits, error_status_in, status_error, too_many_tool_calls};
use super::sse::{SseEvent, SseParser};
use super::streaming::{Decode, malformed_stream, oversized_event, oversized_line};
use crate::chat::{
    ChatRequest, ChatResponse, ChunkDelta, ContentPart, FinishReason, MediaKind, MediaSource,
    Message, MetaNeeded, RateLimits, ResponseFormat, ServerTool, ServerToolCall, StreamAccumulator,
    StreamEvent, TimeInfo, TokenLogprob, ToolCall, ToolCallDelta, ToolChoice, TopLogprob, Usage,
    WebSource, separate_reasoning,
};
use crate::error::{Error, Result};

/// The differences between OpenAI-compatible servers that the wire format needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireConfig {
    /// Send `stream_options: {include_usage: true}` (OpenAI, llama.cpp); Cerebras
    /// sends usage without it and rejects unknown fields.
    pub stream_options: bool,
    /// The field assistant reasoning is sent back in (`reasoning` for Cerebras),
    /// or `None` to not send it.
    pub reasoning_field: Option<&'static str>,
    /// The field the token limit goes in: `max_completion_tokens` (OpenAI,
    /// Cerebras, Groq), `max_tokens` (Mistral, DeepSeek, OpenRouter,
    /// Together), `n_predict` (llama.cpp's own).
    pub max_tokens_field: &'static str,
    /// The field the seed goes in: `seed`, or Mistral's `random_seed`.
    pub seed_field: &'static str,
    /// Send `"stream": false` on blocking requests too.
    pub explicit_stream: bool,
    /// Send the model's name (a llama.cpp server serves one model and needs none).
    pub send_model: bool,
    /// Mistral's media parts: a PDF by URL as `document_url`, audio as a bare
    /// base64 string.
    pub mistral_media: bool,
    /// The tool type of the vendor's own web search (Groq's
    /// `browser_search`), if it has one in chat completions.
    pub web_search_tool: Option<&'static str>,
    /// Together's forms: the schema right in `response_format`
    /// (`{"type": "json_schema", "schema": …}`), and `logprobs` as the
    /// number of alternatives.
    pub together_forms: bool,
    /// llama.cpp's form: `json_schema` holds only the `schema`.
    pub bare_json_schema: bool,
}

impl WireConfig {
    /// OpenAI's chat completions.
    pub(crate) const OPENAI: WireConfig = WireConfig {
        stream_options: true,
        reasoning_field: None,
        max_tokens_field: "max_completion_tokens",
        seed_field: "seed",
        explicit_stream: false,
        send_model: true,
        mistral_media: false,
        web_search_tool: None,
        together_forms: false,
        bare_json_schema: false,
    };
}

/// A request as the wire format writes it: serialized straight from the
/// [`ChatRequest`], with no `Value` tree built and no tool schema copied (the
/// hot path encodes it to bytes; [`request_body`] makes a `Value` of it for
/// those who ask).
pub(crate) struct WireRequest<'a> {
    pub req: &'a ChatRequest,
    pub model: &'a str,
    pub stream: bool,
    pub wire: &'a WireConfig,
    /// Fields the model adds as they are (a vendor's own options).
    pub extra: &'a [(String, Value)],
}

/// The JSON body of a request, as a `Value`.
pub(crate) fn request_body(
    req: &ChatRequest,
    model: &str,
    stream: bool,
    wire: &WireConfig,
    extra: &[(String, Value)],
) -> Value {
    serde_json::to_value(WireRequest {
        req,
        model,
        stream,
        wire,
        extra,
    })
    .unwrap_or_default()
}

impl Serialize for WireRequest<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (req, wire) = (self.req, self.wire);
        let mut m = s.serialize_map(None)?;
        if wire.send_model {
            m.serialize_entry("model", self.model)?;
        }
        m.serialize_entry(
            "messages",
            &Each(&req.messages, |msg| WireMessage(msg, wire)),
        )?;
        if self.stream {
            m.serialize_entry("stream", &true)?;
            if wire.stream_options {
                m.serialize_entry("stream_options", &Fields([("include_usage", &true)]))?;
            }
        } else if wire.explicit_stream {
            m.serialize_entry("stream", &false)?;
        }
        let search = wire.web_search_tool.filter(|_| {
            req.server_tools
                .iter()
                .any(|t| matches!(t, ServerTool::WebSearch { .. }))
        });
        if !req.tools.is_empty() || search.is_some() {
            m.serialize_entry(
                "tools",
                &WireTools {
                    tools: &req.tools,
                    search,
                },
            )?;
        }
        if let Some(choice) = &req.tool_choice {
            match choice {
                ToolChoice::Auto => m.serialize_entry("tool_choice", "auto")?,
                ToolChoice::None => m.serialize_entry("tool_choice", "none")?,
                ToolChoice::Required => m.serialize_entry("tool_choice", "required")?,
                ToolChoice::Tool(name) => m.serialize_entry("tool_choice", &NamedFunction(name))?,
            }
        }
        if let Some(p) = req.parallel_tool_calls {
            m.serialize_entry("parallel_tool_calls", &p)?;
        }
        match &req.response_format {
            ResponseFormat::Text => {}
            ResponseFormat::JsonObject => {
                m.serialize_entry("response_format", &Fields([("type", &"json_object")]))?;
            }
            ResponseFormat::JsonSchema { schema, .. } if wire.together_forms => m.serialize_entry(
                "response_format",
                &Fields([("type", &Value::from("json_schema")), ("schema", schema)]),
            )?,
            ResponseFormat::JsonSchema { schema, .. } if wire.bare_json_schema => m
                .serialize_entry(
                    "response_format",
                    &Fields([
                        ("type", &Value::from("json_schema")),
                        ("json_schema", &serde_json::json!({ "schema": schema })),
                    ]),
                )?,
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => m.serialize_entry(
                "response_format",
                &JsonSchemaFormat {
                    name,
                    schema,
                    strict: *strict,
                },
            )?,
        }
        // Floats go out as f64, as a `Value` holds them.
        if let Some(t) = req.temperature {
            m.serialize_entry("temperature", &f64::from(t))?;
        }
        if let Some(p) = req.top_p {
            m.serialize_entry("top_p", &f64::from(p))?;
        }
        if let Some(seed) = req.seed {
            m.serialize_entry(wire.seed_field, &seed)?;
        }
        if let Some(n) = req.max_tokens {
            m.serialize_entry(wire.max_tokens_field, &n)?;
        }
        if !req.stop.is_empty() {
            m.serialize_entry("stop", &req.stop)?;
        }
        if req.logprobs && wire.together_forms {
            m.serialize_entry("logprobs", &req.top_logprobs.unwrap_or(1))?;
        } else if req.logprobs {
            m.serialize_entry("logprobs", &true)?;
            if let Some(n) = req.top_logprobs {
                m.serialize_entry("top_logprobs", &n)?;
            }
        }
        if let Some(e) = req.reasoning_effort {
            m.serialize_entry("reasoning_effort", e.as_str())?;
        }
        // Extra fields never repeat a field written above (a JSON object
        // with a key twice means different things to different servers).
        const OWN: [&str; 14] = [
            "model",
            "messages",
            "stream",
            "stream_options",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "response_format",
            "temperature",
            "top_p",
            "stop",
            "logprobs",
            "top_logprobs",
            "reasoning_effort",
        ];
        for (k, v) in self.extra {
            if !OWN.contains(&k.as_str()) && k != wire.seed_field && k != wire.max_tokens_field {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// `{"type": "function", "function": {"name": …}}`: a forced tool choice.
struct NamedFunction<'a>(&'a str);

impl Serialize for NamedFunction<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("function", &Fields([("name", self.0)]))?;
        m.end()
    }
}

/// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`.
struct JsonSchemaFormat<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

impl Serialize for JsonSchemaFormat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Inner<'a>(&'a JsonSchemaFormat<'a>);
        impl Serialize for Inner<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("name", self.0.name)?;
                m.serialize_entry("schema", self.0.schema)?;
                m.serialize_entry("strict", &self.0.strict)?;
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "json_schema")?;
        m.serialize_entry("json_schema", &Inner(self))?;
        m.end()
    }
}

/// A JSON object of fixed fields.
struct Fields<'a, const N: usize, V: ?Sized>([(&'static str, &'a V); N]);

impl<const N: usize, V: Serialize + ?Sized> Serialize for Fields<'_, N, V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(N))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A list serialized item by item through `view`.
struct Each<'a, T, F>(&'a [T], F);

impl<'a, T, F, V> Serialize for Each<'a, T, F>
where
    F: Fn(&'a T) -> V,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// A tool definition as the wire writes it; its schema by reference.
struct WireTool<'a>(&'a crate::tool::ToolDef);

/// The function tools, then the vendor's own web search.
struct WireTools<'a> {
    tools: &'a [crate::tool::ToolDef],
    search: Option<&'static str>,
}

impl Serialize for WireTools<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for t in self.tools {
            seq.serialize_element(&WireTool(t))?;
        }
        if let Some(kind) = self.search {
            seq.serialize_element(&Fields([("type", kind)]))?;
        }
        seq.end()
    }
}

impl Serialize for WireTool<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Function<'a>(&'a crate::tool::ToolDef);
        impl Serialize for Function<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let t = self.0;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("name", &t.name)?;
                m.serialize_entry("description", &t.description)?;
                m.serialize_entry("parameters", &t.parameters)?;
                if t.strict {
                    m.serialize_entry("strict", &true)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("function", &Function(self.0))?;
        m.end()
    }
}

/// Refuses what chat completions cannot carry, whatever the server: the
/// provider's own tools, and citations into documents.
///
/// # Errors
/// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), naming what to do instead.
pub(crate) fn check_expressible(model: &str, req: &ChatRequest, wire: &WireConfig) -> Result<()> {
    let unsupported =
        |feature: &str, hint: &str| Error::unsupported(model.to_owned(), feature, hint);
    let carried = |t: &ServerTool| {
        matches!(t, ServerTool::WebSearch { .. }) && wire.web_search_tool.is_some()
    };
    if !req.server_tools.iter().all(carried) {
        return Err(unsupported(
            "provider-side tools (web search, web fetch)",
            "give the model a #[tool] that searches or fetches, or use Anthropic, Gemini or \
             OpenAI Responses",
        ));
    }
    let cites = req.messages.iter().any(|m| match m {
        Message::User { content } => content
            .iter()
            .any(|p| matches!(p, ContentPart::Document(d) if d.citations)),
        _ => false,
    });
    if cites {
        return Err(unsupported(
            "citations",
            "send the document without asking for citations (citations: false)",
        ));
    }
    Ok(())
}

/// A message as the wire writes it.
struct WireMessage<'a>(&'a Message, &'a WireConfig);

impl Serialize for WireMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            Message::System { content } => {
                m.serialize_entry("role", "system")?;
                m.serialize_entry("content", content)?;
            }
            Message::User { content } => {
                m.serialize_entry("role", "user")?;
                match content.as_slice() {
                    [ContentPart::Text(t)] => m.serialize_entry("content", t)?,
                    parts => m.serialize_entry("content", &Each(parts, |p| WirePart(p, self.1)))?,
                }
            }
            Message::Assistant {
                content,
                tool_calls,
                reasoning,
                ..
            } => {
                m.serialize_entry("role", "assistant")?;
                if let Some(c) = content {
                    m.serialize_entry("content", c)?;
                }
                if !tool_calls.is_empty() {
                    m.serialize_entry("tool_calls", &Each(tool_calls, WireCall))?;
                }
                if let (Some(field), Some(r)) = (self.1.reasoning_field, reasoning) {
                    m.serialize_entry(field, r)?;
                }
            }
            Message::Tool {
                tool_call_id,
                name,
                content,
                ..
            } => {
                m.serialize_entry("role", "tool")?;
                m.serialize_entry("content", content)?;
                m.serialize_entry("tool_call_id", tool_call_id)?;
                if !name.is_empty() {
                    m.serialize_entry("name", name)?;
                }
            }
        }
        m.end()
    }
}

/// A part of a user message, in this wire's media dialect.
struct WirePart<'a>(&'a ContentPart, &'a WireConfig);

impl Serialize for WirePart<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self.0 {
            ContentPart::Text(t) => {
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", t)?;
            }
            ContentPart::Image { url } => {
                m.serialize_entry("type", "image_url")?;
                m.serialize_entry("image_url", &Fields([("url", url)]))?;
            }
            ContentPart::Media(media) => {
                let url = match &media.source {
                    MediaSource::Url(u) => u.clone(),
                    MediaSource::Base64(b) => format!("data:{};base64,{b}", media.media_type),
                };
                let format = media.media_type.rsplit('/').next().unwrap_or_default();
                let format = match format {
                    "mpeg" => "mp3",
                    "x-wav" | "wave" => "wav",
                    other => other,
                };
                match (media.kind(), &media.source) {
                    (MediaKind::Image, _) => {
                        m.serialize_entry("type", "image_url")?;
                        m.serialize_entry("image_url", &Fields([("url", &url)]))?;
                    }
                    (MediaKind::Pdf, MediaSource::Url(u)) if self.1.mistral_media => {
                        m.serialize_entry("type", "document_url")?;
                        m.serialize_entry("document_url", u)?;
                    }
                    (MediaKind::Audio, MediaSource::Base64(b)) => {
                        m.serialize_entry("type", "input_audio")?;
                        if self.1.mistral_media {
                            m.serialize_entry("input_audio", b)?;
                        } else {
                            m.serialize_entry(
                                "input_audio",
                                &Fields([("data", b.as_str()), ("format", format)]),
                            )?;
                        }
                    }
                    (MediaKind::Video, _) => {
                        m.serialize_entry("type", "video_url")?;
                        m.serialize_entry("video_url", &Fields([("url", &url)]))?;
                    }
                    _ => {
                        // OpenAI's file part: a PDF (or other file) as a data URL.
                        let ext = match media.kind() {
                            MediaKind::Pdf => "pdf",
                            _ => format,
                        };
                        let name = format!("document.{ext}");
                        m.serialize_entry("type", "file")?;
                        m.serialize_entry(
                            "file",
                            &Fields([("filename", &name), ("file_data", &url)]),
                        )?;
                    }
                }
            }
            ContentPart::Document(d) => {
                // No citations here (check_request refuses them): the text.
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", &d.text)?;
            }
        }
        m.end()
    }
}

/// A tool call of an assistant message.
struct WireCall<'a>(&'a ToolCall);

impl Serialize for WireCall<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry(
            "function",
            &Fields([("name", &c.name), ("arguments", &c.arguments)]),
        )?;
        m.end()
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
    let mut v: Value = serde_json::from_str(body)
        .map_err(|_| Error::protocol("a chat completion (not JSON)", body))?;
    // An error in a successful answer (OpenRouter relays an upstream
    // provider's refusal so): typed by the status it names.
    if v.get("choices").is_none() && v.get("error").is_some_and(Value::is_object) {
        let status = error_status_in(&v, 500);
        return Err(status_error(
            status,
            body,
            v.get("model").and_then(Value::as_str).unwrap_or_default(),
            rate_limits,
            None,
            None,
        ));
    }
    // Strings are moved out of the parsed value, not copied.
    let mut choice = v
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .and_then(|c| c.first_mut())
        .map(Value::take)
        .ok_or_else(|| Error::protocol("a chat completion (no `choices`)", body))?;
    let mut msg = choice
        .get_mut("message")
        .filter(|m| m.is_object())
        .map(Value::take)
        .ok_or_else(|| Error::protocol("a chat completion (no `message` object)", body))?;
    let server_tool_calls: Vec<ServerToolCall> = msg
        .get("executed_tools")
        .map(executed_tools)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let content = take_str(&mut msg, "content");
    let reasoning =
        take_str(&mut msg, "reasoning").or_else(|| take_str(&mut msg, "reasoning_content"));
    let (content, reasoning) = separate_reasoning(content, reasoning);
    let mut tool_calls = Vec::new();
    if let Some(Value::Array(calls)) = msg.get_mut("tool_calls") {
        for c in calls.iter_mut() {
            let mut f = c.get_mut("function").map(Value::take).unwrap_or_default();
            let arguments = match f.get_mut("arguments").map(Value::take) {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            tool_calls.push(ToolCall::new(
                take_str(c, "id").unwrap_or_default(),
                take_str(&mut f, "name").unwrap_or_default(),
                arguments,
            ));
        }
    }
    let mut usage = v.get("usage").map(parse_usage).unwrap_or_default();
    usage.time = v.get("time_info").and_then(parse_time);
    usage.inference_id = inference_id;
    Ok(ChatResponse {
        id: take_str(&mut v, "id").unwrap_or_default(),
        model: take_str(&mut v, "model").unwrap_or_default(),
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
        system_fingerprint: take_str(&mut v, "system_fingerprint"),
        server_tool_calls,
        ..ChatResponse::default()
    })
}

/// A string field moved out of an object (`None` when absent or not a string).
fn take_str(v: &mut Value, key: &str) -> Option<String> {
    match v.get_mut(key) {
        Some(Value::String(s)) => Some(std::mem::take(s)),
        _ => None,
    }
}

/// What one SSE data payload was. (Not boxed: it lives for one chunk, on the
/// stack, and a box would be an allocation per chunk.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Chunk {
    /// A delta, and for each of its tool-call pieces the `index` the server
    /// wrote (`None` when it wrote none).
    Delta(ChunkDelta, Vec<Option<u64>>),
    /// An error inside the stream: its status (the body's `status_code` wins) and JSON.
    Error(u16, String),
}

/// Parses one SSE data payload of a streamed answer. `need`: what the answer
/// still lacks of its id, model and system fingerprint (read once, not copied
/// out of every chunk).
pub(crate) fn parse_chunk(data: &str, http_status: u16, need: MetaNeeded) -> Result<Chunk> {
    use super::borrowed_json::{fields, fields_of, first_item, is_null, items, string, whole};
    // The fields in place: no `Value` tree per chunk (see `borrowed_json`).
    let [
        id,
        model,
        fingerprint,
        choices,
        usage,
        time_info,
        error,
        status_code,
        timings,
        x_groq,
    ] = match fields(
        data,
        [
            "id",
            "model",
            "system_fingerprint",
            "choices",
            "usage",
            "time_info",
            "error",
            "status_code",
            "timings",
            "x_groq",
        ],
    ) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(Chunk::Delta(ChunkDelta::default(), Vec::new())),
        Err(()) => return Err(Error::protocol("a stream chunk (not JSON)", data)),
    };
    if !is_null(error) {
        let status = whole(status_code)
            .or_else(|| whole(error.and_then(|e| fields_of(e, ["status_code"]))?[0]))
            .or_else(|| whole(error.and_then(|e| fields_of(e, ["code"]))?[0]))
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (400..600).contains(s))
            .unwrap_or_else(|| {
                // No number: the error's name says it (`rate_limit_exceeded`).
                let fallback = if http_status >= 400 { http_status } else { 500 };
                serde_json::from_str::<Value>(data)
                    .map(|v| error_status_in(&v, fallback))
                    .unwrap_or(fallback)
            });
        return Ok(Chunk::Error(status, data.to_owned()));
    }
    let mut wire_indices = Vec::new();
    let mut d = ChunkDelta::default();
    if need.ids {
        d.id = string(id);
        d.model = string(model);
    }
    if need.fingerprint {
        d.system_fingerprint = string(fingerprint);
    }
    if let Some(u) = usage.filter(|u| u.get() != "null")
        && let Ok(u) = serde_json::from_str::<Value>(u.get())
    {
        let mut usage = parse_usage(&u);
        usage.time = time_info
            .and_then(|t| serde_json::from_str::<Value>(t.get()).ok())
            .and_then(|t| parse_time(&t));
        d.usage = Some(usage);
    } else if let Some(u) = x_groq
        .filter(|x| x.get() != "null")
        .and_then(|x| serde_json::from_str::<Value>(x.get()).ok())
        .and_then(|x| x.get("usage").filter(|u| u.is_object()).map(parse_usage))
    {
        // Groq's compound models put the stream's usage under `x_groq`.
        d.usage = Some(u);
    } else if let Some(t) = timings.filter(|t| t.get() != "null")
        && let Ok(t) = serde_json::from_str::<Value>(t.get())
    {
        // llama.cpp streams its counts as `timings` when no usage was asked.
        d.usage = Some(usage_of_timings(&t));
    }
    if let Some(choice) = choices.and_then(first_item)
        && let Some([delta, finish_reason, logprobs]) =
            fields_of(choice, ["delta", "finish_reason", "logprobs"])
    {
        if let Some([content, reasoning, reasoning_content, tool_calls, executed]) =
            delta.and_then(|d| {
                fields_of(
                    d,
                    [
                        "content",
                        "reasoning",
                        "reasoning_content",
                        "tool_calls",
                        "executed_tools",
                    ],
                )
            })
        {
            if let Some(e) = executed.filter(|e| e.get() != "null")
                && let Ok(e) = serde_json::from_str::<Value>(e.get())
            {
                d.server_tools = executed_tools(&e);
            }
            d.content = string(content);
            d.reasoning = string(reasoning).or_else(|| string(reasoning_content));
            for c in tool_calls.map(items).unwrap_or_default() {
                let Some([index, call_id, function]) = fields_of(c, ["index", "id", "function"])
                else {
                    continue;
                };
                let [name, arguments] = function
                    .and_then(|f| fields_of(f, ["name", "arguments"]))
                    .unwrap_or_default();
                wire_indices.push(whole(index));
                d.tool_calls.push(ToolCallDelta {
                    // Set by the decoder's `CallSlots` from the wire identity.
                    index: 0,
                    id: string(call_id),
                    name: string(name),
                    arguments: match arguments {
                        None => None,
                        Some(a) if a.get() == "null" => None,
                        Some(a) => string(Some(a)).or_else(|| Some(a.get().to_owned())),
                    },
                });
            }
        }
        d.finish_reason = string(finish_reason);
        d.logprobs = logprobs
            .filter(|l| l.get() != "null")
            .and_then(|l| serde_json::from_str::<Value>(l.get()).ok())
            .and_then(|l| parse_logprobs(&l));
    }
    Ok(Chunk::Delta(d, wire_indices))
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
    /// Reused buffers: the events of a push, and a chunk's stream events.
    sse_events: Vec<SseEvent>,
    scratch: Vec<StreamEvent>,
    slots: CallSlots,
    max_event_bytes: usize,
    /// `None` once the stream is over (answered or failed).
    accumulator: Option<StreamAccumulator>,
    http_status: u16,
    model: String,
    key: Option<ApiKey>,
}

impl StreamDecoder {
    /// A decoder for a response with this status, for `model`, within the
    /// provider's `limits` on events and tool calls; `key` is redacted from
    /// errors.
    pub(crate) fn new(
        accumulator: StreamAccumulator,
        http_status: u16,
        model: String,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self {
        Self {
            parser: SseParser::new(),
            sse_events: Vec::new(),
            scratch: Vec::new(),
            slots: CallSlots::new(limits.max_tool_calls),
            max_event_bytes: limits.max_event_bytes,
            accumulator: Some(accumulator),
            http_status,
            model,
            key,
        }
    }
}

impl super::streaming::Decode for StreamDecoder {
    fn is_done(&self) -> bool {
        self.accumulator.is_none()
    }

    fn push(&mut self, bytes: &[u8], out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = std::mem::take(&mut self.sse_events);
        let pushed = self.parser.push(bytes, &mut events);
        match pushed {
            Ok(()) => self.handle(&mut events, out),
            Err(e) => {
                self.sse_events = events;
                return self.fail(malformed_stream(e), out);
            }
        }
        events.clear();
        self.sse_events = events;
        if !self.is_done() && self.parser.buffered() > self.max_event_bytes {
            self.fail(oversized_line(self.max_event_bytes), out);
        }
    }

    /// The body ended: the answer is complete after `[DONE]`, or once the
    /// provider said why it stopped; otherwise the stream broke.
    fn finish(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if self.is_done() {
            return;
        }
        let mut events = Vec::new();
        if let Err(e) = self.parser.finish(&mut events) {
            return self.fail(malformed_stream(e), out);
        }
        self.handle(&mut events, out);
        match &self.accumulator {
            None => {}
            Some(acc) if acc.is_finished() => self.end(out),
            Some(_) => self.fail(
                Error::connection("the stream ended before the answer was complete"),
                out,
            ),
        }
    }

    fn fail(&mut self, error: Error, out: &mut VecDeque<Result<StreamEvent>>) {
        self.accumulator = None;
        out.push_back(Err(error));
    }
}

impl StreamDecoder {
    fn end(&mut self, out: &mut VecDeque<Result<StreamEvent>>) {
        if let Some(acc) = self.accumulator.take() {
            let (events, response) = acc.finish();
            out.extend(events.into_iter().map(Ok));
            out.push_back(Ok(StreamEvent::Done(Box::new(response))));
        }
    }

    fn handle(&mut self, events: &mut Vec<SseEvent>, out: &mut VecDeque<Result<StreamEvent>>) {
        for e in events.drain(..) {
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
                return self.fail(oversized_event(self.max_event_bytes), out);
            }
            match parse_chunk(data, self.http_status, acc.needs_meta()) {
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
                                return self.fail(too_many_tool_calls(max), out);
                            }
                        }
                    }
                    acc.push_into(d, &mut self.scratch);
                    out.extend(self.scratch.drain(..).map(Ok));
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

/// llama.cpp's `timings` (`prompt_n`, `predicted_n`) as token counts.
fn usage_of_timings(t: &Value) -> Usage {
    let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (prompt, completion) = (n("prompt_n").saturating_add(n("cache_n")), n("predicted_n"));
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        ..Usage::default()
    }
}

fn parse_usage(u: &Value) -> Usage {
    // `get` chains, not `Value::pointer` (which allocates per segment).
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    let nested = |outer: &str, k: &str| u.get(outer).and_then(|d| n(d, k));
    Usage {
        prompt_tokens: n(u, "prompt_tokens").unwrap_or(0),
        completion_tokens: n(u, "completion_tokens").unwrap_or(0),
        total_tokens: n(u, "total_tokens").unwrap_or(0),
        reasoning_tokens: nested("completion_tokens_details", "reasoning_tokens"),
        cached_tokens: nested("prompt_tokens_details", "cached_tokens"),
        cache_write_tokens: None,
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
pub fn parse_chat_response(body: &str) -> Result<ChatResponse> {
    parse_response(body, Default::default(), None)
}

/// Reads a whole streamed chat-completions answer (SSE bytes) into the
/// [`ChatResponse`] a blocking call would give.
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for a malformed stream, the
/// provider's error for an error event, [`ErrorKind::Connection`](crate::ErrorKind::Connection)
/// for a stream that ends before the answer does.
pub fn parse_chat_stream(body: &[u8]) -> Result<ChatResponse> {
    let decoder = StreamDecoder::new(
        crate::chat::StreamAccumulator::default(),
        200,
        String::new(),
        None,
        &Limits::default(),
    );
    super::streaming::decode_whole(decoder, body)
}

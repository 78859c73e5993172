//! Chat completions, writing: a [`ChatRequest`] as the JSON body a server
//! takes, in the dialect its [`WireConfig`] names; and what the format cannot
//! carry, refused first.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolCall, ToolChoice,
};
use crate::error::{Error, Result};

/// The differences between OpenAI-compatible servers that the wire format needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// A PDF by URL goes as a `document_url` part (Mistral), not as a file.
    pub pdf_as_document_url: bool,
    /// Audio goes as a bare base64 string in `input_audio` (Mistral), not as
    /// `{data, format}`.
    pub audio_as_bare_base64: bool,
    /// The tool type of the vendor's own web search (Groq's
    /// `browser_search`), if it has one in chat completions.
    pub web_search_tool: Option<&'static str>,
    /// How a JSON Schema answer is asked for in `response_format`.
    pub schema_form: SchemaForm,
    /// `logprobs` is the number of alternatives (Together), not a flag with
    /// `top_logprobs` beside it.
    pub logprobs_as_count: bool,
}

/// How `response_format` carries a JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaForm {
    /// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`
    /// (OpenAI's).
    Wrapped,
    /// `{"type": "json_schema", "json_schema": {"schema"}}`: the schema
    /// alone (llama.cpp's).
    Bare,
    /// `{"type": "json_schema", "schema": …}`: the schema right in the format
    /// (Together's).
    Flat,
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
        pdf_as_document_url: false,
        audio_as_bare_base64: false,
        web_search_tool: None,
        schema_form: SchemaForm::Wrapped,
        logprobs_as_count: false,
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
            ResponseFormat::JsonSchema { schema, .. } if wire.schema_form == SchemaForm::Flat => m
                .serialize_entry(
                    "response_format",
                    &Fields([("type", &Value::from("json_schema")), ("schema", schema)]),
                )?,
            ResponseFormat::JsonSchema { schema, .. } if wire.schema_form == SchemaForm::Bare => m
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
        if req.logprobs && wire.logprobs_as_count {
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
                    (MediaKind::Pdf, MediaSource::Url(u)) if self.1.pdf_as_document_url => {
                        m.serialize_entry("type", "document_url")?;
                        m.serialize_entry("document_url", u)?;
                    }
                    (MediaKind::Audio, MediaSource::Base64(b)) => {
                        m.serialize_entry("type", "input_audio")?;
                        if self.1.audio_as_bare_base64 {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every field and message shape, with audio, video and reasoning
    /// besides the fixture's.
    fn request() -> ChatRequest {
        let mut req = crate::provider::request_fixture::every_field(None);
        if let Some(Message::User { content }) = req.messages.get_mut(2) {
            content.push(ContentPart::media_bytes("audio/mpeg", &[7, 8, 9]));
            content.push(ContentPart::media_url("video/mp4", "https://example.com/v.mp4"));
        }
        if let Some(Message::Assistant { reasoning, .. }) = req.messages.get_mut(3) {
            *reasoning = Some("Oslo needs a lookup.".into());
        }
        req
    }

    fn written(wire: &WireConfig, stream: bool) -> Value {
        let extra = [
            ("top_k".to_owned(), json!(5)),
            ("temperature".to_owned(), json!(9)),
            ("random_seed".to_owned(), json!(1)),
        ];
        request_body(&request(), "m", stream, wire, &extra)
    }

    #[test]
    fn every_field_is_written_in_openai_dialect() {
        let body = written(&WireConfig::OPENAI, true);
        let expected = json!({
            "model": "m",
            "messages": [
                {
                    "role": "system",
                    "content": "Be brief."
                },
                {
                    "role": "system",
                    "content": "Use metric units."
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Look:"
                        },
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "https://example.com/cat.png?size=2"
                            }
                        },
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/png;base64,AQID"
                            }
                        },
                        {
                            "type": "file",
                            "file": {
                                "filename": "document.pdf",
                                "file_data": "https://example.com/a.pdf"
                            }
                        },
                        {
                            "type": "file",
                            "file": {
                                "filename": "document.pdf",
                                "file_data": "data:application/pdf;base64,BAUG"
                            }
                        },
                        {
                            "type": "text",
                            "text": "Oslo is cold."
                        },
                        {
                            "type": "input_audio",
                            "input_audio": {
                                "data": "BwgJ",
                                "format": "mp3"
                            }
                        },
                        {
                            "type": "video_url",
                            "video_url": {
                                "url": "https://example.com/v.mp4"
                            }
                        }
                    ]
                },
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "type": "function",
                            "id": "call_1",
                            "function": {
                                "name": "weather",
                                "arguments": "{\"city\":\"Oslo\"}"
                            }
                        },
                        {
                            "type": "function",
                            "id": "call_2",
                            "function": {
                                "name": "weather",
                                "arguments": "not json"
                            }
                        }
                    ]
                },
                {
                    "role": "tool",
                    "content": "12C",
                    "tool_call_id": "call_1",
                    "name": "weather"
                },
                {
                    "role": "tool",
                    "content": "bad arguments",
                    "tool_call_id": "call_2",
                    "name": "weather"
                },
                {
                    "role": "assistant",
                    "content": "It is 12C."
                },
                {
                    "role": "user",
                    "content": "Thanks."
                }
            ],
            "stream": true,
            "stream_options": {
                "include_usage": true
            },
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "description": "The weather in a city.",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {
                                    "type": "string"
                                }
                            },
                            "required": [
                                "city"
                            ],
                            "additionalProperties": false
                        },
                        "strict": true
                    }
                }
            ],
            "tool_choice": {
                "type": "function",
                "function": {
                    "name": "weather"
                }
            },
            "parallel_tool_calls": false,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "schema": {
                        "type": "object",
                        "properties": {
                            "city": {
                                "type": "string"
                            }
                        },
                        "required": [
                            "city"
                        ],
                        "additionalProperties": false
                    },
                    "strict": true
                }
            },
            "temperature": 0.5,
            "top_p": 0.25,
            "seed": 7,
            "max_completion_tokens": 100,
            "stop": [
                "END"
            ],
            "logprobs": true,
            "top_logprobs": 3,
            "reasoning_effort": "low",
            "top_k": 5,
            "random_seed": 1
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn every_field_is_written_in_the_other_dialect() {
        let wire = WireConfig {
            stream_options: false,
            reasoning_field: Some("reasoning_content"),
            max_tokens_field: "max_tokens",
            seed_field: "random_seed",
            explicit_stream: true,
            send_model: false,
            pdf_as_document_url: true,
            audio_as_bare_base64: true,
            web_search_tool: Some("browser_search"),
            schema_form: SchemaForm::Flat,
            logprobs_as_count: true,
        };
        let body = written(&wire, false);
        let bare = WireConfig {
            schema_form: SchemaForm::Bare,
            ..wire
        };
        let bare = written(&bare, false);
        let expected = json!({
            "messages": [
                {
                    "role": "system",
                    "content": "Be brief."
                },
                {
                    "role": "system",
                    "content": "Use metric units."
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Look:"
                        },
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "https://example.com/cat.png?size=2"
                            }
                        },
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/png;base64,AQID"
                            }
                        },
                        {
                            "type": "document_url",
                            "document_url": "https://example.com/a.pdf"
                        },
                        {
                            "type": "file",
                            "file": {
                                "filename": "document.pdf",
                                "file_data": "data:application/pdf;base64,BAUG"
                            }
                        },
                        {
                            "type": "text",
                            "text": "Oslo is cold."
                        },
                        {
                            "type": "input_audio",
                            "input_audio": "BwgJ"
                        },
                        {
                            "type": "video_url",
                            "video_url": {
                                "url": "https://example.com/v.mp4"
                            }
                        }
                    ]
                },
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "type": "function",
                            "id": "call_1",
                            "function": {
                                "name": "weather",
                                "arguments": "{\"city\":\"Oslo\"}"
                            }
                        },
                        {
                            "type": "function",
                            "id": "call_2",
                            "function": {
                                "name": "weather",
                                "arguments": "not json"
                            }
                        }
                    ],
                    "reasoning_content": "Oslo needs a lookup."
                },
                {
                    "role": "tool",
                    "content": "12C",
                    "tool_call_id": "call_1",
                    "name": "weather"
                },
                {
                    "role": "tool",
                    "content": "bad arguments",
                    "tool_call_id": "call_2",
                    "name": "weather"
                },
                {
                    "role": "assistant",
                    "content": "It is 12C."
                },
                {
                    "role": "user",
                    "content": "Thanks."
                }
            ],
            "stream": false,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "description": "The weather in a city.",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {
                                    "type": "string"
                                }
                            },
                            "required": [
                                "city"
                            ],
                            "additionalProperties": false
                        },
                        "strict": true
                    }
                },
                {
                    "type": "browser_search"
                }
            ],
            "tool_choice": {
                "type": "function",
                "function": {
                    "name": "weather"
                }
            },
            "parallel_tool_calls": false,
            "response_format": {
                "type": "json_schema",
                "schema": {
                    "type": "object",
                    "properties": {
                        "city": {
                            "type": "string"
                        }
                    },
                    "required": [
                        "city"
                    ],
                    "additionalProperties": false
                }
            },
            "temperature": 0.5,
            "top_p": 0.25,
            "random_seed": 7,
            "max_tokens": 100,
            "stop": [
                "END"
            ],
            "logprobs": 3,
            "reasoning_effort": "low",
            "top_k": 5
        });
        assert_eq!(body, expected);
        let expected = json!({
            "type": "json_schema",
            "json_schema": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "city": {
                            "type": "string"
                        }
                    },
                    "required": [
                        "city"
                    ],
                    "additionalProperties": false
                }
            }
        });
        assert_eq!(bare["response_format"], expected);
    }
}

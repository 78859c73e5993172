//! Chat completions, writing: a [`ChatRequest`] as the JSON body a server
//! takes, in the dialect its [`WireConfig`] names; and what the format cannot
//! carry, refused first.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolCall, ToolChoice,
};
use crate::error::{Error, Result};
use crate::provider::writing::is_false;

/// The differences between OpenAI-compatible servers that the wire format needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireConfig {
    /// Send `stream_options: {include_usage: true}` (OpenAI, llama.cpp); Cerebras
    /// sends usage without it and rejects unknown fields.
    pub stream_options: bool,
    /// The field assistant reasoning is sent back in, or `None` to not
    /// send it.
    pub reasoning_field: Option<ReasoningField>,
    /// The field the token limit goes in.
    pub max_tokens_field: MaxTokensField,
    /// The field the seed goes in.
    pub seed_field: SeedField,
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
    /// That tool's entry says `force_search: true` (Xiaomi's): asked for,
    /// the search runs rather than being left to the model.
    pub force_search: bool,
    /// The switch of the vendor's own web search, if it has one.
    pub search_switch: Option<SearchSwitch>,
    /// How a JSON Schema answer is asked for in `response_format`.
    pub schema_form: SchemaForm,
    /// `logprobs` is the number of alternatives (Together), not a flag with
    /// `top_logprobs` beside it.
    pub logprobs_as_count: bool,
    /// Speech is asked for with `modalities: ["text", "audio"]` beside
    /// `audio` (OpenAI's); Xiaomi's speech models take `audio` alone.
    pub speech_modalities: bool,
    /// The path after the base URL chat requests go to.
    pub endpoint_path: &'static str,
}

/// How a vendor's own web search is switched, where it has no tool for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchSwitch {
    /// Off unless `enable_search: true` (DashScope): sent when asked.
    EnableSearch,
    /// On unless `disable_search: true` (Perplexity): sent when not asked,
    /// so that a request searches only when it says so.
    DisableSearch,
}

impl SearchSwitch {
    fn field(self) -> &'static str {
        match self {
            SearchSwitch::EnableSearch => "enable_search",
            SearchSwitch::DisableSearch => "disable_search",
        }
    }
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

/// The field assistant reasoning goes back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReasoningField {
    /// `reasoning`.
    Reasoning,
    /// `reasoning_content` (DeepSeek's).
    ReasoningContent,
}

/// The field the token limit goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxTokensField {
    /// `max_completion_tokens` (OpenAI, Cerebras, Groq).
    MaxCompletionTokens,
    /// `max_tokens` (Mistral, DeepSeek, OpenRouter, Together).
    MaxTokens,
    /// `n_predict` (llama.cpp's own).
    NPredict,
}

impl MaxTokensField {
    fn name(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::NPredict => "n_predict",
        }
    }
}

/// The field the seed goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeedField {
    /// `seed`.
    Seed,
    /// `random_seed` (Mistral's).
    RandomSeed,
}

impl SeedField {
    fn name(self) -> &'static str {
        match self {
            SeedField::Seed => "seed",
            SeedField::RandomSeed => "random_seed",
        }
    }
}

impl WireConfig {
    /// OpenAI's chat completions.
    pub(crate) const OPENAI: WireConfig = WireConfig {
        stream_options: true,
        reasoning_field: None,
        max_tokens_field: MaxTokensField::MaxCompletionTokens,
        seed_field: SeedField::Seed,
        explicit_stream: false,
        send_model: true,
        pdf_as_document_url: false,
        audio_as_bare_base64: false,
        web_search_tool: None,
        force_search: false,
        search_switch: None,
        schema_form: SchemaForm::Wrapped,
        logprobs_as_count: false,
        speech_modalities: true,
        endpoint_path: "/chat/completions",
    };
}

/// A request as the wire format writes it: serialized straight from the
/// [`ChatRequest`], with no `Value` tree built and no tool schema copied (the
/// hot path encodes it to bytes; [`request_body`] makes a `Value` of it for
/// those who ask). Lists are written item by item as they are serialized.
#[derive(Serialize)]
pub(crate) struct WireRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(serialize_with = "each_message")]
    messages: InDialect<'a, Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Tools::is_empty", serialize_with = "each_tool")]
    tools: Tools<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Choice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Format<'a>>,
    // Floats go out as f64, as a `Value` holds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    random_seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_predict: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<Logprobs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_search: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disable_search: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    modalities: Option<[&'static str; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio: Option<SpeechFormat<'a>>,
    #[serde(flatten, serialize_with = "extra_fields")]
    extra: Extra<'a>,
}

/// Items to be written in a dialect.
struct InDialect<'a, T> {
    items: &'a [T],
    wire: &'a WireConfig,
}

/// The function tools, then the vendor's own web search.
struct Tools<'a> {
    tools: &'a [crate::tool::ToolDef],
    search: Option<Builtin>,
}

impl Tools<'_> {
    fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.search.is_none()
    }
}

/// Fields the model adds as they are (a vendor's own options), but for
/// those the body writes itself: a JSON object with a key twice means
/// different things to different servers.
struct Extra<'a> {
    fields: &'a [(String, Value)],
    wire: &'a WireConfig,
}

impl Extra<'_> {
    fn is_own(&self, key: &str) -> bool {
        const OWN: [&str; 16] = [
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
            "modalities",
            "audio",
        ];
        OWN.contains(&key)
            || key == self.wire.seed_field.name()
            || key == self.wire.max_tokens_field.name()
            || self.wire.search_switch.is_some_and(|s| s.field() == key)
    }
}

fn each_message<S: Serializer>(
    m: &InDialect<'_, Message>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(m.items.iter().map(|msg| WireMessage::of(msg, m.wire)))
}

fn each_part<S: Serializer>(
    p: &InDialect<'_, ContentPart>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(p.items.iter().map(|part| WirePart::of(part, p.wire)))
}

fn each_call<S: Serializer>(calls: &&[ToolCall], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(calls.iter().map(|c| WireCall {
        id: &c.id,
        function: CallFunction {
            name: &c.name,
            arguments: &c.arguments,
        },
    }))
}

fn each_tool<S: Serializer>(t: &Tools<'_>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let functions = t.tools.iter().map(|t| {
        WireTool::Function(FunctionTool {
            function: FunctionDef {
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
                strict: t.strict,
            },
        })
    });
    let search = t.search.map(WireTool::Builtin);
    s.collect_seq(functions.chain(search))
}

fn extra_fields<S: Serializer>(e: &Extra<'_>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_map(
        e.fields
            .iter()
            .filter(|(k, _)| !e.is_own(k))
            .map(|(k, v)| (k, v)),
    )
}

/// `audio`: the speech asked for.
#[derive(Serialize, Clone, Copy)]
struct SpeechFormat<'a> {
    format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice: Option<&'a str>,
}

/// `stream_options`.
#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// `tool_choice`: a mode, or one function.
#[derive(Serialize)]
#[serde(untagged)]
enum Choice<'a> {
    Mode(&'static str),
    Function(NamedFunction<'a>),
}

/// `{"type": "function", "function": {"name": …}}`.
#[derive(Serialize)]
#[serde(tag = "type", rename = "function")]
struct NamedFunction<'a> {
    function: Name<'a>,
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

/// `response_format`, in the dialect's [`SchemaForm`].
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Format<'a> {
    JsonObject,
    #[serde(rename = "json_schema")]
    Wrapped {
        json_schema: WrappedSchema<'a>,
    },
    #[serde(rename = "json_schema")]
    Bare {
        json_schema: BareSchema<'a>,
    },
    #[serde(rename = "json_schema")]
    Flat {
        schema: &'a Value,
    },
}

#[derive(Serialize)]
struct WrappedSchema<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

#[derive(Serialize)]
struct BareSchema<'a> {
    schema: &'a Value,
}

/// `logprobs`: a flag (with `top_logprobs` beside it), or the number of
/// alternatives.
#[derive(Serialize)]
#[serde(untagged)]
enum Logprobs {
    Flag(bool),
    Count(u8),
}

/// A tool: a function, or the vendor's own (`{"type": "browser_search"}`).
#[derive(Serialize)]
#[serde(untagged)]
enum WireTool<'a> {
    Function(FunctionTool<'a>),
    Builtin(Builtin),
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "function")]
struct FunctionTool<'a> {
    function: FunctionDef<'a>,
}

/// A tool definition; its schema by reference.
#[derive(Serialize)]
struct FunctionDef<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
    #[serde(skip_serializing_if = "is_false")]
    strict: bool,
}

#[derive(Serialize, Clone, Copy)]
struct Builtin {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    force_search: bool,
}

impl<'a> WireRequest<'a> {
    /// The body of `req` to `model` in dialect `wire`, with the model's
    /// `extra` fields.
    pub(crate) fn new(
        req: &'a ChatRequest,
        model: &'a str,
        stream: bool,
        wire: &'a WireConfig,
        extra: &'a [(String, Value)],
    ) -> Self {
        let speech = match &req.media_output {
            Some(crate::chat::MediaOutput::Speech { format, voice }) => Some(SpeechFormat {
                format,
                voice: voice.as_deref(),
            }),
            _ => None,
        };
        let searches = req
            .server_tools
            .iter()
            .any(|t| matches!(t, ServerTool::WebSearch { .. }));
        let search = wire
            .web_search_tool
            .filter(|_| searches)
            .map(|kind| Builtin {
                kind,
                force_search: wire.force_search,
            });
        let response_format = match &req.response_format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(Format::JsonObject),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => Some(match wire.schema_form {
                SchemaForm::Wrapped => Format::Wrapped {
                    json_schema: WrappedSchema {
                        name,
                        schema,
                        strict: *strict,
                    },
                },
                SchemaForm::Bare => Format::Bare {
                    json_schema: BareSchema { schema },
                },
                SchemaForm::Flat => Format::Flat { schema },
            }),
        };
        let (logprobs, top_logprobs) = match (req.logprobs, wire.logprobs_as_count) {
            (false, _) => (None, None),
            (true, true) => (Some(Logprobs::Count(req.top_logprobs.unwrap_or(1))), None),
            (true, false) => (Some(Logprobs::Flag(true)), req.top_logprobs),
        };
        let seed = |field| req.seed.filter(|_| wire.seed_field == field);
        let limit = |field| req.max_tokens.filter(|_| wire.max_tokens_field == field);
        WireRequest {
            model: wire.send_model.then_some(model),
            messages: InDialect {
                items: &req.messages,
                wire,
            },
            stream: if stream {
                Some(true)
            } else {
                wire.explicit_stream.then_some(false)
            },
            stream_options: (stream && wire.stream_options).then_some(StreamOptions {
                include_usage: true,
            }),
            tools: Tools {
                tools: &req.tools,
                search,
            },
            tool_choice: req.tool_choice.as_ref().map(|c| match c {
                ToolChoice::Auto => Choice::Mode("auto"),
                ToolChoice::None => Choice::Mode("none"),
                ToolChoice::Required => Choice::Mode("required"),
                ToolChoice::Tool(name) => Choice::Function(NamedFunction {
                    function: Name { name },
                }),
            }),
            parallel_tool_calls: req.parallel_tool_calls,
            response_format,
            temperature: req.temperature.map(f64::from),
            top_p: req.top_p.map(f64::from),
            seed: seed(SeedField::Seed),
            random_seed: seed(SeedField::RandomSeed),
            max_completion_tokens: limit(MaxTokensField::MaxCompletionTokens),
            max_tokens: limit(MaxTokensField::MaxTokens),
            n_predict: limit(MaxTokensField::NPredict),
            stop: &req.stop,
            logprobs,
            top_logprobs,
            reasoning_effort: req.reasoning_effort.map(|e| e.as_str()),
            enable_search: (wire.search_switch == Some(SearchSwitch::EnableSearch) && searches)
                .then_some(true),
            disable_search: (wire.search_switch == Some(SearchSwitch::DisableSearch) && !searches)
                .then_some(true),
            modalities: speech
                .filter(|_| wire.speech_modalities)
                .map(|_| ["text", "audio"]),
            audio: speech,
            extra: Extra {
                fields: extra,
                wire,
            },
        }
    }
}

/// The JSON body of a request, as a `Value`.
pub(crate) fn request_body(
    req: &ChatRequest,
    model: &str,
    stream: bool,
    wire: &WireConfig,
    extra: &[(String, Value)],
) -> Value {
    serde_json::to_value(WireRequest::new(req, model, stream, wire, extra)).unwrap_or_default()
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
        matches!(t, ServerTool::WebSearch { .. })
            && (wire.web_search_tool.is_some() || wire.search_switch.is_some())
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
#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "each_call")]
        tool_calls: &'a [ToolCall],
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reasoning_content: Option<&'a str>,
    },
    Tool {
        content: &'a str,
        tool_call_id: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        name: &'a str,
    },
}

/// A user message's content: one text as a string, else its parts.
#[derive(Serialize)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(&'a str),
    Parts(#[serde(serialize_with = "each_part")] InDialect<'a, ContentPart>),
}

impl<'a> WireMessage<'a> {
    fn of(m: &'a Message, wire: &'a WireConfig) -> Self {
        match m {
            Message::System { content } => WireMessage::System { content },
            Message::User { content } => WireMessage::User {
                content: match content.as_slice() {
                    [ContentPart::Text(t)] => UserContent::Text(t),
                    parts => UserContent::Parts(InDialect { items: parts, wire }),
                },
            },
            Message::Assistant {
                content,
                tool_calls,
                reasoning,
                ..
            } => {
                let reasoning_in = |field| {
                    reasoning
                        .as_deref()
                        .filter(|_| wire.reasoning_field == Some(field))
                };
                WireMessage::Assistant {
                    content: content.as_deref(),
                    tool_calls,
                    reasoning: reasoning_in(ReasoningField::Reasoning),
                    reasoning_content: reasoning_in(ReasoningField::ReasoningContent),
                }
            }
            Message::Tool {
                tool_call_id,
                name,
                content,
                ..
            } => WireMessage::Tool {
                content,
                tool_call_id,
                name,
            },
        }
    }
}

/// A part of a user message, in this wire's media dialect.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WirePart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: Url<'a> },
    DocumentUrl { document_url: &'a str },
    InputAudio { input_audio: Audio<'a> },
    VideoUrl { video_url: Url<'a> },
    File { file: File<'a> },
}

#[derive(Serialize)]
struct Url<'a> {
    url: Cow<'a, str>,
}

/// Audio: `{data, format}`, or bare base64 (Mistral's).
#[derive(Serialize)]
#[serde(untagged)]
enum Audio<'a> {
    Bare(&'a str),
    Data { data: &'a str, format: &'a str },
}

/// OpenAI's file part: a PDF (or other file) as a data URL.
#[derive(Serialize)]
struct File<'a> {
    filename: String,
    file_data: Cow<'a, str>,
}

impl<'a> WirePart<'a> {
    fn of(p: &'a ContentPart, wire: &WireConfig) -> Self {
        let media = match p {
            ContentPart::Text(text) => return WirePart::Text { text },
            ContentPart::Image { url } => {
                return WirePart::ImageUrl {
                    image_url: Url { url: url.into() },
                };
            }
            // No citations here (check_expressible refuses them): the text.
            ContentPart::Document(d) => return WirePart::Text { text: &d.text },
            ContentPart::Media(media) => media,
        };
        let url: Cow<'a, str> = match &media.source {
            MediaSource::Url(u) => u.into(),
            MediaSource::Base64(b) => format!("data:{};base64,{b}", media.media_type).into(),
        };
        let format = match media.media_type.rsplit('/').next().unwrap_or_default() {
            "mpeg" => "mp3",
            "x-wav" | "wave" => "wav",
            other => other,
        };
        match (media.kind(), &media.source) {
            (MediaKind::Image, _) => WirePart::ImageUrl {
                image_url: Url { url },
            },
            (MediaKind::Pdf, MediaSource::Url(u)) if wire.pdf_as_document_url => {
                WirePart::DocumentUrl { document_url: u }
            }
            (MediaKind::Audio, MediaSource::Base64(b)) => WirePart::InputAudio {
                input_audio: if wire.audio_as_bare_base64 {
                    Audio::Bare(b)
                } else {
                    Audio::Data { data: b, format }
                },
            },
            (MediaKind::Video, _) => WirePart::VideoUrl {
                video_url: Url { url },
            },
            (kind, _) => WirePart::File {
                file: File {
                    filename: format!(
                        "document.{}",
                        if kind == MediaKind::Pdf {
                            "pdf"
                        } else {
                            format
                        }
                    ),
                    file_data: url,
                },
            },
        }
    }
}

/// A tool call of an assistant message.
#[derive(Serialize)]
#[serde(tag = "type", rename = "function")]
struct WireCall<'a> {
    id: &'a str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    arguments: &'a str,
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
            content.push(ContentPart::media_url(
                "video/mp4",
                "https://example.com/v.mp4",
            ));
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
            reasoning_field: Some(ReasoningField::ReasoningContent),
            max_tokens_field: MaxTokensField::MaxTokens,
            seed_field: SeedField::RandomSeed,
            explicit_stream: true,
            send_model: false,
            pdf_as_document_url: true,
            audio_as_bare_base64: true,
            web_search_tool: Some("browser_search"),
            force_search: false,
            search_switch: None,
            schema_form: SchemaForm::Flat,
            logprobs_as_count: true,
            speech_modalities: false,
            endpoint_path: "/chat/completions",
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

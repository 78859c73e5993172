//! Ollama's `/api/chat`, writing: messages with their images as base64 in
//! `images`, tool calls with their arguments as objects (and the tool's name
//! on each result), `format` (`"json"` or a JSON Schema), sampling in
//! `options` (`seed`, `num_predict`, `stop`), the `think` switch.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ToolChoice,
};
use crate::error::{Error, Result};
use crate::provider::writing::{PlainTool, is_false, plain_function_tools};

/// The body of a request.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    think: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<PlainTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Format<'a>>,
    #[serde(skip_serializing_if = "Options::is_empty")]
    options: Options<'a>,
    #[serde(skip_serializing_if = "is_false")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    content: Cow<'a, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireCall<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    tool_call_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    tool_name: &'a str,
}

#[derive(Serialize)]
struct WireCall<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    /// An object (Ollama's form); what does not parse as one goes as text.
    arguments: Value,
}

/// `format`: `"json"`, or a JSON Schema the answer is held to.
#[derive(Serialize)]
#[serde(untagged)]
enum Format<'a> {
    Json(&'static str),
    Schema(&'a Value),
}

#[derive(Serialize, Default)]
struct Options<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_predict: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
}

impl Options<'_> {
    fn is_empty(&self) -> bool {
        self.seed.is_none()
            && self.num_predict.is_none()
            && self.stop.is_empty()
            && self.temperature.is_none()
            && self.top_p.is_none()
    }
}

/// The body of `req` to `model`; `think` is the model's thinking switch.
/// Refuses what `/api/chat` cannot carry: a forced or named tool choice (it
/// has none), media other than images, an image by URL (it takes the bytes).
pub(crate) fn request_body<'a>(
    model: &'a str,
    req: &'a ChatRequest,
    stream: bool,
    think: Option<bool>,
) -> Result<Request<'a>> {
    let refuse = |feature: &str, hint: &str| Error::unsupported(model.to_owned(), feature, hint);
    if matches!(
        req.tool_choice,
        Some(ToolChoice::Required | ToolChoice::Tool(_))
    ) {
        return Err(refuse(
            "a forced tool call (Ollama has no tool_choice)",
            "leave tool_choice as auto",
        ));
    }
    let by_url = || {
        refuse(
            "an image by URL (Ollama takes the bytes)",
            "fetch the image and send its bytes",
        )
    };
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let mut wire = WireMessage {
            role: "user",
            content: Cow::Borrowed(""),
            images: Vec::new(),
            tool_calls: Vec::new(),
            tool_call_id: "",
            tool_name: "",
        };
        match m {
            Message::System { content } => {
                wire.role = "system";
                wire.content = content.as_str().into();
            }
            Message::User { content } => {
                let mut texts = Vec::new();
                for part in content {
                    match part {
                        ContentPart::Text(t) => texts.push(t.as_str()),
                        ContentPart::Document(d) => texts.push(d.text.as_str()),
                        ContentPart::Media(media) => match (media.kind(), &media.source) {
                            (MediaKind::Image, MediaSource::Base64(b64)) => {
                                wire.images.push(b64.as_str());
                            }
                            (MediaKind::Image, MediaSource::Url(_)) => return Err(by_url()),
                            _ => {
                                return Err(refuse(
                                    "media other than images through Ollama",
                                    "send images or text",
                                ));
                            }
                        },
                        ContentPart::Image { url } => {
                            match url.strip_prefix("data:").and_then(|r| r.split_once(',')) {
                                Some((_, data)) => wire.images.push(data),
                                None => return Err(by_url()),
                            }
                        }
                    }
                }
                wire.content = match texts.as_slice() {
                    [one] => Cow::Borrowed(*one),
                    many => Cow::Owned(many.join("\n")),
                };
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                wire.role = "assistant";
                wire.content = content.as_deref().unwrap_or_default().into();
                wire.tool_calls = tool_calls
                    .iter()
                    .map(|c| WireCall {
                        id: &c.id,
                        function: CallFunction {
                            name: &c.name,
                            arguments: c
                                .parsed_arguments()
                                .unwrap_or_else(|_| Value::String(c.arguments.clone())),
                        },
                    })
                    .collect();
            }
            Message::Tool {
                tool_call_id,
                name,
                content,
                ..
            } => {
                wire.role = "tool";
                wire.content = content.as_str().into();
                wire.tool_call_id = tool_call_id;
                wire.tool_name = name;
            }
        }
        messages.push(wire);
    }
    let tools = plain_function_tools(req);
    let format = match &req.response_format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Format::Json("json")),
        ResponseFormat::JsonSchema { schema, .. } => Some(Format::Schema(schema)),
    };
    Ok(Request {
        model,
        messages,
        stream,
        think,
        tools,
        format,
        options: Options {
            seed: req.seed,
            num_predict: req.max_tokens,
            stop: &req.stop,
            temperature: req.temperature.map(f64::from),
            top_p: req.top_p.map(f64::from),
        },
        logprobs: req.logprobs,
        top_logprobs: req.top_logprobs.filter(|_| req.logprobs),
    })
}

//! Workers AI, writing: a [`ChatRequest`] as the body of `POST …/ai/run/{model}`.
//! Messages are chat-completions-like with plain string contents; a tool
//! call goes back as an assistant message holding its arguments (with the
//! call's id where it had one), as Workers AI's models were recorded
//! continuing from; there is no `tool_choice`.

use serde::Serialize;
use serde_json::Value;

use crate::chat::{ChatRequest, ContentPart, Message, ResponseFormat, ToolChoice};
use crate::error::{Error, Result};
use crate::provider::writing::{PlainTool, is_false, plain_function_tools};

/// The body of a request.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<PlainTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Format<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    tool_call_id: &'a str,
}

/// `response_format`: JSON mode, or a JSON Schema given right in
/// `json_schema`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Format<'a> {
    JsonObject,
    JsonSchema { json_schema: &'a Value },
}

/// The body of `req`; refuses what Workers AI cannot be sent (media, a
/// forced or named tool choice: it has no `tool_choice`).
pub(crate) fn request_body<'a>(
    model: &str,
    req: &'a ChatRequest,
    stream: bool,
) -> Result<Request<'a>> {
    let refuse = |feature: &str, hint: &str| Error::unsupported(model.to_owned(), feature, hint);
    if matches!(
        req.tool_choice,
        Some(ToolChoice::Required | ToolChoice::Tool(_))
    ) {
        return Err(refuse(
            "a forced tool call (Workers AI has no tool_choice)",
            "leave tool_choice as auto",
        ));
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m {
            Message::System { content } => messages.push(WireMessage {
                role: "system",
                content: content.as_str().into(),
                tool_call_id: "",
            }),
            Message::User { content } => {
                let mut texts = Vec::with_capacity(content.len());
                for part in content {
                    match part {
                        ContentPart::Text(text) => texts.push(text.as_str()),
                        ContentPart::Document(d) => texts.push(d.text.as_str()),
                        _ => {
                            return Err(refuse(
                                "media input through Workers AI's text models",
                                "send text only",
                            ));
                        }
                    }
                }
                messages.push(WireMessage {
                    role: "user",
                    content: match texts.as_slice() {
                        [one] => (*one).into(),
                        many => many.join("\n").into(),
                    },
                    tool_call_id: "",
                });
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                let text = content.as_deref().unwrap_or_default();
                if tool_calls.is_empty() || !text.is_empty() {
                    messages.push(WireMessage {
                        role: "assistant",
                        content: text.into(),
                        tool_call_id: "",
                    });
                }
                for call in tool_calls {
                    messages.push(WireMessage {
                        role: "assistant",
                        content: call.arguments.as_str().into(),
                        tool_call_id: &call.id,
                    });
                }
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => messages.push(WireMessage {
                role: "tool",
                content: content.as_str().into(),
                tool_call_id,
            }),
        }
    }
    let tools = plain_function_tools(req);
    let response_format = match &req.response_format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Format::JsonObject),
        ResponseFormat::JsonSchema { schema, .. } => Some(Format::JsonSchema {
            json_schema: schema,
        }),
    };
    Ok(Request {
        messages,
        stream,
        tools,
        response_format,
        max_tokens: req.max_tokens,
        seed: req.seed,
        temperature: req.temperature.map(f64::from),
        top_p: req.top_p.map(f64::from),
    })
}

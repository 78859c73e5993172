//! Cohere's v2 chat, writing: messages with their content as parts (text,
//! images by URL or as `data:` URLs), the request's documents apart in
//! `documents` (`{id, data: {snippet, title}}`), tool calls and results,
//! `tool_choice` (`required`, `none`; a named tool is the only tool offered,
//! required) with `strict_tools` for a forced call, `response_format`,
//! `stop_sequences`, `logprobs` and the `thinking` switch.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::documents;
use crate::chat::ToolChoice;
use crate::chat::{ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat};
use crate::error::{Error, Result};
use crate::provider::writing::{PlainTool, is_false, plain_tool};

/// The body of a request.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    stream: bool,
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    documents: Vec<WireDocument<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    citation_options: Option<CitationOptions>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<PlainTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "is_false")]
    strict_tools: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Format<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<f64>,
    #[serde(skip_serializing_if = "is_false")]
    logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<ThinkingSwitch>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireCall<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    tool_call_id: &'a str,
}

/// A message's content: text (system, assistant), or parts (user, tool).
#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(&'a str),
    Parts(Vec<Part<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl<'a> },
}

#[derive(Serialize)]
struct ImageUrl<'a> {
    url: Cow<'a, str>,
}

#[derive(Serialize)]
struct WireCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct WireDocument<'a> {
    id: String,
    data: DocumentData<'a>,
}

#[derive(Serialize)]
struct DocumentData<'a> {
    snippet: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

#[derive(Serialize)]
struct CitationOptions {
    mode: &'static str,
}

/// `response_format`: `{"type": "json_object"}`, or a JSON Schema the answer
/// is held to (`{"type": "json_schema", "json_schema": schema}`, as the
/// recorded requests Cohere answered write it).
#[derive(Serialize)]
struct Format<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_schema: Option<&'a Value>,
}

#[derive(Serialize)]
struct ThinkingSwitch {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The body of `req` to `model`; `think` is the model's thinking switch
/// (unset: the model's default). Refuses what v2 chat cannot carry: media
/// other than images.
pub(crate) fn request_body<'a>(
    model: &'a str,
    req: &'a ChatRequest,
    stream: bool,
    think: Option<bool>,
) -> Result<Request<'a>> {
    let documents = documents(req);
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let mut wire = WireMessage {
            role: "user",
            content: None,
            tool_plan: None,
            tool_calls: Vec::new(),
            tool_call_id: "",
        };
        match m {
            Message::System { content } => {
                wire.role = "system";
                wire.content = Some(Content::Text(content));
            }
            Message::User { content } => {
                let parts = user_parts(model, content)?;
                if parts.is_empty() {
                    // Documents alone: they go in `documents`.
                    continue;
                }
                wire.content = Some(Content::Parts(parts));
            }
            Message::Assistant {
                content,
                tool_calls,
                ..
            } => {
                wire.role = "assistant";
                let text = content.as_deref().filter(|t| !t.is_empty());
                if tool_calls.is_empty() {
                    wire.content = Some(Content::Text(text.unwrap_or_default()));
                } else {
                    // The text before a call is its plan.
                    wire.tool_plan = text;
                    wire.tool_calls = tool_calls
                        .iter()
                        .map(|c| WireCall {
                            id: &c.id,
                            kind: "function",
                            function: CallFunction {
                                name: &c.name,
                                arguments: &c.arguments,
                            },
                        })
                        .collect();
                }
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => {
                wire.role = "tool";
                wire.tool_call_id = tool_call_id;
                wire.content = Some(Content::Parts(vec![Part::Text {
                    text: Cow::Borrowed(content),
                }]));
            }
        }
        messages.push(wire);
    }
    let (tools, tool_choice, strict_tools) = tools(req)?;
    let response_format = match &req.response_format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Format {
            kind: "json_object",
            json_schema: None,
        }),
        ResponseFormat::JsonSchema { schema, .. } => Some(Format {
            kind: "json_schema",
            json_schema: Some(schema),
        }),
    };
    let cited = documents.iter().any(|d| d.cite);
    let citation_options =
        (!documents.is_empty() && !cited).then_some(CitationOptions { mode: "OFF" });
    Ok(Request {
        stream,
        model,
        messages,
        documents: documents
            .into_iter()
            .map(|d| WireDocument {
                id: d.id,
                data: DocumentData {
                    snippet: d.text,
                    title: d.title,
                },
            })
            .collect(),
        citation_options,
        tools,
        tool_choice,
        strict_tools,
        response_format,
        seed: req.seed,
        max_tokens: req.max_tokens,
        stop_sequences: &req.stop,
        temperature: req.temperature.map(f64::from),
        p: req.top_p.map(f64::from),
        logprobs: req.logprobs,
        thinking: think.map(|on| ThinkingSwitch {
            kind: if on { "enabled" } else { "disabled" },
        }),
    })
}

/// A user message's parts, its documents left out (they go in
/// `documents`).
fn user_parts<'a>(model: &str, content: &'a [ContentPart]) -> Result<Vec<Part<'a>>> {
    let mut parts = Vec::with_capacity(content.len());
    for part in content {
        match part {
            ContentPart::Text(t) => parts.push(Part::Text {
                text: Cow::Borrowed(t),
            }),
            ContentPart::Document(_) => {}
            ContentPart::Image { url } => parts.push(Part::ImageUrl {
                image_url: ImageUrl {
                    url: Cow::Borrowed(url),
                },
            }),
            ContentPart::Media(media) => {
                let url = match (media.kind(), &media.source) {
                    (MediaKind::Image, MediaSource::Url(u)) => Cow::Borrowed(u.as_str()),
                    (MediaKind::Image, MediaSource::Base64(b64)) => {
                        Cow::Owned(format!("data:{};base64,{b64}", media.media_type))
                    }
                    _ => {
                        return Err(Error::unsupported(
                            model.to_owned(),
                            "media other than images through Cohere",
                            "send images, text or documents",
                        ));
                    }
                };
                parts.push(Part::ImageUrl {
                    image_url: ImageUrl { url },
                });
            }
        }
    }
    Ok(parts)
}

/// The tools offered, `tool_choice` and `strict_tools`. Cohere's choice is
/// `required` or `none` (unset: the model's); a named tool is offered alone,
/// required. A forced call is held to its schema (`strict_tools`).
fn tools(req: &ChatRequest) -> Result<(Vec<PlainTool<'_>>, Option<&'static str>, bool)> {
    if let Some(ToolChoice::Tool(name)) = &req.tool_choice {
        let Some(tool) = req.tools.iter().find(|t| &t.name == name) else {
            return Err(Error::config(format!(
                "tool_choice names `{name}`, which is not among the request's tools"
            )));
        };
        return Ok((vec![plain_tool(tool)], Some("required"), true));
    }
    let choice = match req.tool_choice {
        Some(ToolChoice::None) if !req.tools.is_empty() => Some("none"),
        Some(ToolChoice::Required) => Some("required"),
        _ => None,
    };
    let tools = req.tools.iter().map(plain_tool).collect();
    Ok((tools, choice, choice == Some("required")))
}

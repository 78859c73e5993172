//! The Responses wire format, written: a [`ChatRequest`] as the typed body
//! OpenAI takes, serialized straight from the request (no `Value` tree is
//! built; media parts and the joined instructions are the only copies).

use serde::Serialize;
use serde_json::Value;

use super::STATE_NAME;
use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolChoice,
};
use crate::provider::writing::{Outgoing, is_false};

/// The model's settings that shape every request.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub store: bool,
    pub reasoning_summary: bool,
    pub service_tier: Option<String>,
}

/// A Responses request body.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_response_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<String>,
    input: Vec<Item<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    stream: bool,
    store: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    include: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Reasoning>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Choice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    // Floats go out as f64, as they always have.
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
}

/// An input item: one typecall wrote, or one the model gave that goes back
/// as it came (encrypted reasoning).
type Item<'a> = Outgoing<'a, Written<'a>>;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Written<'a> {
    Message {
        role: &'static str,
        content: Vec<Part<'a>>,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: &'a str,
    },
}

/// A part of a message.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    InputText {
        text: &'a str,
    },
    OutputText {
        text: &'a str,
    },
    InputImage {
        image_url: String,
        detail: &'static str,
    },
    InputFile {
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
}

/// `reasoning`: the effort, and whether to summarize.
#[derive(Serialize)]
struct Reasoning {
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'static str>,
}

/// A tool: one of the request's, or OpenAI's web search.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tool<'a> {
    Function {
        name: &'a str,
        description: &'a str,
        parameters: &'a Value,
        #[serde(skip_serializing_if = "is_false")]
        strict: bool,
    },
    WebSearch,
}

/// `tool_choice`: a mode, or one function.
#[derive(Serialize)]
#[serde(untagged)]
enum Choice<'a> {
    Mode(&'static str),
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        name: &'a str,
    },
}

/// `text`: the answer's format.
#[derive(Serialize)]
struct TextConfig<'a> {
    format: Format<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Format<'a> {
    JsonObject,
    JsonSchema {
        name: &'a str,
        schema: &'a Value,
        strict: bool,
    },
}

/// The response id an assistant message's state names, if it came from here.
fn response_id(m: &Message) -> Option<&str> {
    match m {
        Message::Assistant {
            provider_state: Some(s),
            ..
        } if s.provider == STATE_NAME => s.data.get("response_id").and_then(Value::as_str),
        _ => None,
    }
}

/// The request body for `req`.
pub(super) fn request_body<'a>(
    model: &'a str,
    o: &'a Options,
    req: &'a ChatRequest,
    stream: bool,
) -> Request<'a> {
    // With stored responses, the conversation up to the last answer is the
    // server's: name it, and send only what came after.
    let (previous_response_id, rest) = match o.store {
        true => match req.messages.iter().rposition(|m| response_id(m).is_some()) {
            Some(i) => (
                req.messages.get(i).and_then(response_id),
                req.messages.get(i + 1..).unwrap_or_default(),
            ),
            None => (None, req.messages.as_slice()),
        },
        false => (None, req.messages.as_slice()),
    };
    let instructions: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let mut include = Vec::new();
    if !o.store {
        include.push("reasoning.encrypted_content");
    }
    let mut tools: Vec<Tool<'a>> = req
        .tools
        .iter()
        .map(|t| Tool::Function {
            name: &t.name,
            description: &t.description,
            parameters: &t.parameters,
            strict: t.strict,
        })
        .collect();
    for t in &req.server_tools {
        if let ServerTool::WebSearch { .. } = t {
            tools.push(Tool::WebSearch);
            include.push("web_search_call.action.sources");
        }
    }
    if req.logprobs {
        include.push("message.output_text.logprobs");
    }
    let reasoning = (o.reasoning_summary || req.reasoning_effort.is_some()).then(|| Reasoning {
        effort: req.reasoning_effort.map(|e| e.as_str()),
        summary: o.reasoning_summary.then_some("auto"),
    });
    Request {
        model,
        previous_response_id,
        instructions: (!instructions.is_empty()).then(|| instructions.join("\n\n")),
        input: input(rest, o.store),
        stream,
        store: o.store,
        include,
        service_tier: o.service_tier.as_deref(),
        reasoning,
        tools,
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => Choice::Mode("auto"),
            ToolChoice::None => Choice::Mode("none"),
            ToolChoice::Required => Choice::Mode("required"),
            ToolChoice::Tool(name) => Choice::Function {
                kind: "function",
                name,
            },
        }),
        parallel_tool_calls: req.parallel_tool_calls,
        text: match &req.response_format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(Format::JsonObject),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => Some(Format::JsonSchema {
                name,
                schema,
                strict: *strict,
            }),
        }
        .map(|format| TextConfig { format }),
        max_output_tokens: req.max_tokens,
        temperature: req.temperature.map(f64::from),
        top_p: req.top_p.map(f64::from),
        top_logprobs: req.logprobs.then(|| req.top_logprobs.unwrap_or_default()),
    }
}

/// The input items for these messages (system messages go to `instructions`).
fn input(messages: &[Message], store: bool) -> Vec<Item<'_>> {
    let mut items = Vec::new();
    for m in messages {
        match m {
            Message::System { .. } => {}
            Message::User { content } => items.push(Item::Written(Written::Message {
                role: "user",
                content: content.iter().map(part).collect(),
            })),
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                // Reasoning the server does not keep travels encrypted.
                if !store
                    && let Some(s) = provider_state.as_ref().filter(|s| s.provider == STATE_NAME)
                {
                    items.extend(
                        s.data
                            .get("items")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning"))
                            .map(Item::Kept),
                    );
                }
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    items.push(Item::Written(Written::Message {
                        role: "assistant",
                        content: vec![Part::OutputText { text }],
                    }));
                }
                for c in tool_calls {
                    items.push(Item::Written(Written::FunctionCall {
                        call_id: &c.id,
                        name: &c.name,
                        arguments: &c.arguments,
                    }));
                }
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => items.push(Item::Written(Written::FunctionCallOutput {
                call_id: tool_call_id,
                output: content,
            })),
        }
    }
    items
}

fn part(p: &ContentPart) -> Part<'_> {
    if let ContentPart::Document(d) = p {
        return Part::InputText { text: &d.text };
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return Part::InputText { text };
    };
    let is_image = media.kind() == MediaKind::Image;
    match media.source {
        MediaSource::Url(url) if is_image => Part::InputImage {
            image_url: url,
            detail: "auto",
        },
        MediaSource::Base64(b) if is_image => Part::InputImage {
            image_url: format!("data:{};base64,{b}", media.media_type),
            detail: "auto",
        },
        MediaSource::Url(url) => Part::InputFile {
            file_url: Some(url),
            file_data: None,
            filename: None,
        },
        MediaSource::Base64(b) => {
            let ext = media.media_type.rsplit('/').next().unwrap_or("bin");
            Part::InputFile {
                file_url: None,
                file_data: Some(format!("data:{};base64,{b}", media.media_type)),
                filename: Some(format!("document.{ext}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ProviderState, ToolCall};
    use serde_json::json;

    #[test]
    fn every_field_is_written() {
        let state = ProviderState {
            provider: STATE_NAME.into(),
            data: json!({"response_id": "resp_1", "items": [{"type": "reasoning", "encrypted_content": "x"}, {"type": "message"}]}),
        };
        let req = crate::provider::request_fixture::every_field(Some(state));
        let o = Options {
            store: false,
            reasoning_summary: true,
            service_tier: Some("flex".into()),
        };
        let body = serde_json::to_value(request_body("gpt-x", &o, &req, true)).unwrap();
        let expected = json!({
            "model": "gpt-x",
            "instructions": "Be brief.\n\nUse metric units.",
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "Look:"
                        },
                        {
                            "type": "input_image",
                            "image_url": "https://example.com/cat.png?size=2",
                            "detail": "auto"
                        },
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64,AQID",
                            "detail": "auto"
                        },
                        {
                            "type": "input_file",
                            "file_url": "https://example.com/a.pdf"
                        },
                        {
                            "type": "input_file",
                            "file_data": "data:application/pdf;base64,BAUG",
                            "filename": "document.pdf"
                        },
                        {
                            "type": "input_text",
                            "text": "Oslo is cold."
                        }
                    ]
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {
                            "type": "output_text",
                            "text": "Let me check."
                        }
                    ]
                },
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "weather",
                    "arguments": "{\"city\":\"Oslo\"}"
                },
                {
                    "type": "function_call",
                    "call_id": "call_2",
                    "name": "weather",
                    "arguments": "not json"
                },
                {
                    "type": "function_call_output",
                    "call_id": "call_1",
                    "output": "12C"
                },
                {
                    "type": "function_call_output",
                    "call_id": "call_2",
                    "output": "bad arguments"
                },
                {
                    "type": "reasoning",
                    "encrypted_content": "x"
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [
                        {
                            "type": "output_text",
                            "text": "It is 12C."
                        }
                    ]
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "Thanks."
                        }
                    ]
                }
            ],
            "stream": true,
            "store": false,
            "include": [
                "reasoning.encrypted_content",
                "web_search_call.action.sources",
                "message.output_text.logprobs"
            ],
            "service_tier": "flex",
            "reasoning": {
                "effort": "low",
                "summary": "auto"
            },
            "tools": [
                {
                    "type": "function",
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
                },
                {
                    "type": "web_search"
                }
            ],
            "tool_choice": {
                "type": "function",
                "name": "weather"
            },
            "parallel_tool_calls": false,
            "text": {
                "format": {
                    "type": "json_schema",
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
            "max_output_tokens": 100,
            "temperature": 0.5,
            "top_p": 0.25,
            "top_logprobs": 3
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn stored_conversations_send_only_what_is_new() {
        let call = ToolCall::new("call_1", "f", "{}");
        let mut assistant = Message::assistant_tool_calls(vec![call.clone()]);
        if let Message::Assistant { provider_state, .. } = &mut assistant {
            *provider_state = Some(ProviderState {
                provider: STATE_NAME.into(),
                data: json!({"response_id": "resp_1", "items": [{"type": "reasoning", "encrypted_content": "x"}]}),
            });
        }
        let req = ChatRequest::new(vec![
            Message::user("hi"),
            assistant,
            Message::tool_result(&call, "2"),
        ]);
        let stored = Options {
            store: true,
            reasoning_summary: false,
            service_tier: None,
        };
        let body = serde_json::to_value(request_body("m", &stored, &req, false)).unwrap();
        assert_eq!(body["previous_response_id"], "resp_1");
        assert_eq!(
            body["input"],
            json!([{"type": "function_call_output", "call_id": "call_1", "output": "2"}])
        );
        let stateless = Options {
            store: false,
            ..stored
        };
        let body = serde_json::to_value(request_body("m", &stateless, &req, false)).unwrap();
        assert!(body.get("previous_response_id").is_none());
        let kinds: Vec<&str> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "message",
                "reasoning",
                "function_call",
                "function_call_output"
            ]
        );
    }
}

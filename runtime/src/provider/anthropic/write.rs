//! The Messages wire format, written: a [`ChatRequest`] as the typed body
//! Anthropic takes, serialized straight from the request (no `Value` tree is
//! built; what is copied is the tool-call arguments, parsed into the objects
//! Anthropic wants, and media parts).

use serde::Serialize;
use serde_json::{Map, Value};

use super::{AnthropicThinking, STATE_NAME};
use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolChoice,
};
use crate::provider::writing::{Outgoing, is_false};

/// What the model adds to every request.
pub(super) struct WireModel<'a> {
    pub name: &'a str,
    pub max_tokens: u32,
    pub thinking: AnthropicThinking,
}

/// A Messages request body.
#[derive(Serialize)]
pub(crate) struct Request<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<TextBlock<'a>>,
    messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    stream: bool,
    thinking: ThinkingConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Choice<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [String],
    // Floats go out as f64, as they always have.
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutputConfig<'a>>,
}

/// `thinking`: off, adaptive, or a token budget.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ThinkingConfig {
    Disabled,
    Adaptive { display: &'static str },
    Enabled { budget_tokens: u32 },
}

/// One message of the conversation.
#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: Vec<Content<'a>>,
}

/// A content block: one typecall wrote, or one the model gave that goes back
/// as it came (signed thinking, server tool use and results).
type Content<'a> = Outgoing<'a, Block<'a>>;

/// A text block.
#[derive(Serialize)]
#[serde(tag = "type", rename = "text")]
struct TextBlock<'a> {
    text: &'a str,
}

/// A content block typecall writes.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: &'a str,
    },
    Image {
        source: Source<'a>,
    },
    Document {
        source: Source<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<Enabled>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: [TextBlock<'a>; 1],
        #[serde(skip_serializing_if = "is_false")]
        is_error: bool,
    },
}

/// Where a document's or an image's bytes are.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source<'a> {
    Url {
        url: String,
    },
    Base64 {
        media_type: String,
        data: String,
    },
    Text {
        media_type: &'static str,
        data: &'a str,
    },
}

/// `{"enabled": true}`.
#[derive(Serialize)]
struct Enabled {
    enabled: bool,
}

/// A tool: one of the request's, or one Anthropic runs.
#[derive(Serialize)]
#[serde(untagged)]
enum Tool<'a> {
    Function {
        name: &'a str,
        description: &'a str,
        input_schema: &'a Value,
    },
    Server {
        #[serde(rename = "type")]
        kind: &'static str,
        name: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_uses: Option<u32>,
    },
}

/// `tool_choice`.
#[derive(Serialize)]
struct Choice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    disable_parallel_tool_use: bool,
}

/// `output_config`: the answer's JSON Schema.
#[derive(Serialize)]
struct OutputConfig<'a> {
    format: SchemaFormat<'a>,
}

#[derive(Serialize)]
struct SchemaFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'a Value,
}

/// The request body for `req`.
pub(super) fn request_body<'a>(
    model: &WireModel<'a>,
    req: &'a ChatRequest,
    stream: bool,
) -> Request<'a> {
    let system = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(TextBlock { text: content }),
            _ => None,
        })
        .collect();
    let mut tools: Vec<Tool<'a>> = req
        .tools
        .iter()
        .map(|t| Tool::Function {
            name: &t.name,
            description: &t.description,
            input_schema: &t.parameters,
        })
        .collect();
    tools.extend(req.server_tools.iter().map(|t| {
        let (kind, name, max_uses) = match t {
            ServerTool::WebSearch { max_uses } => ("web_search_20250305", "web_search", max_uses),
            ServerTool::WebFetch { max_uses } => ("web_fetch_20250910", "web_fetch", max_uses),
        };
        Tool::Server {
            kind,
            name,
            max_uses: *max_uses,
        }
    }));
    let mut tool_choice = req.tool_choice.as_ref().map(|c| {
        let (kind, name) = match c {
            ToolChoice::Auto => ("auto", None),
            ToolChoice::None => ("none", None),
            ToolChoice::Required => ("any", None),
            ToolChoice::Tool(name) => ("tool", Some(name.as_str())),
        };
        Choice {
            kind,
            name,
            disable_parallel_tool_use: false,
        }
    });
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = tool_choice.get_or_insert(Choice {
            kind: "auto",
            name: None,
            disable_parallel_tool_use: false,
        });
        c.disable_parallel_tool_use = c.kind != "none";
    }
    Request {
        model: model.name,
        max_tokens: req.max_tokens.unwrap_or(model.max_tokens),
        system,
        messages: messages(&req.messages),
        stream,
        thinking: match model.thinking {
            AnthropicThinking::Disabled => ThinkingConfig::Disabled,
            AnthropicThinking::Adaptive => ThinkingConfig::Adaptive {
                display: "summarized",
            },
            AnthropicThinking::Budget(n) => ThinkingConfig::Enabled { budget_tokens: n },
        },
        tools,
        tool_choice,
        stop_sequences: &req.stop,
        temperature: req.temperature.map(f64::from),
        top_p: req.top_p.map(f64::from),
        output_config: match &req.response_format {
            ResponseFormat::JsonSchema { schema, .. } => Some(OutputConfig {
                format: SchemaFormat {
                    kind: "json_schema",
                    schema,
                },
            }),
            ResponseFormat::Text | ResponseFormat::JsonObject => None,
        },
    }
}

/// The conversation without its system messages; each run of tool results
/// becomes one user message of `tool_result` blocks.
fn messages(messages: &[Message]) -> Vec<Turn<'_>> {
    let mut out = Vec::new();
    let mut results = Vec::new();
    for m in messages {
        if let Message::Tool {
            tool_call_id,
            content,
            is_error,
            ..
        } = m
        {
            results.push(Content::Written(Block::ToolResult {
                tool_use_id: tool_call_id,
                content: [TextBlock { text: content }],
                is_error: *is_error,
            }));
            continue;
        }
        if !results.is_empty() {
            out.push(Turn {
                role: "user",
                content: std::mem::take(&mut results),
            });
        }
        match m {
            Message::User { content } => out.push(Turn {
                role: "user",
                content: content.iter().map(|p| Content::Written(part(p))).collect(),
            }),
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                let mut blocks: Vec<Content<'_>> = provider_state
                    .as_ref()
                    .filter(|s| s.provider == STATE_NAME)
                    .and_then(|s| s.data.as_array())
                    .into_iter()
                    .flatten()
                    .map(Content::Kept)
                    .collect();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(Content::Written(Block::Text { text }));
                }
                for c in tool_calls {
                    blocks.push(Content::Written(Block::ToolUse {
                        id: &c.id,
                        name: &c.name,
                        input: c
                            .parsed_arguments()
                            .unwrap_or_else(|_| Value::Object(Map::new())),
                    }));
                }
                out.push(Turn {
                    role: "assistant",
                    content: blocks,
                });
            }
            Message::System { .. } | Message::Tool { .. } => {}
        }
    }
    if !results.is_empty() {
        out.push(Turn {
            role: "user",
            content: results,
        });
    }
    out
}

/// A user message part as a content block.
fn part(p: &ContentPart) -> Block<'_> {
    if let ContentPart::Document(d) = p {
        return Block::Document {
            source: Source::Text {
                media_type: "text/plain",
                data: &d.text,
            },
            citations: d.citations.then_some(Enabled { enabled: true }),
            title: d.title.as_deref(),
        };
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return Block::Text { text };
    };
    let is_image = media.kind() == MediaKind::Image;
    let source = match media.source {
        MediaSource::Url(url) => Source::Url { url },
        MediaSource::Base64(data) => Source::Base64 {
            media_type: media.media_type,
            data,
        },
    };
    if is_image {
        Block::Image { source }
    } else {
        Block::Document {
            source,
            citations: None,
            title: None,
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
            data: json!([{"type": "thinking", "thinking": "hmm", "signature": "sig"}]),
        };
        let req = crate::provider::request_fixture::every_field(Some(state));
        let model = WireModel {
            name: "claude-x",
            max_tokens: 10,
            thinking: AnthropicThinking::Budget(1024),
        };
        let body = serde_json::to_value(request_body(&model, &req, true)).unwrap();
        let expected = json!({
            "model": "claude-x",
            "max_tokens": 100,
            "system": [
                {
                    "type": "text",
                    "text": "Be brief."
                },
                {
                    "type": "text",
                    "text": "Use metric units."
                }
            ],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Look:"
                        },
                        {
                            "type": "image",
                            "source": {
                                "type": "url",
                                "url": "https://example.com/cat.png?size=2"
                            }
                        },
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": "AQID"
                            }
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "url",
                                "url": "https://example.com/a.pdf"
                            }
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": "BAUG"
                            }
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "text",
                                "media_type": "text/plain",
                                "data": "Oslo is cold."
                            },
                            "citations": {
                                "enabled": true
                            },
                            "title": "Notes"
                        }
                    ]
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "text",
                            "text": "Let me check."
                        },
                        {
                            "type": "tool_use",
                            "id": "call_1",
                            "name": "weather",
                            "input": {
                                "city": "Oslo"
                            }
                        },
                        {
                            "type": "tool_use",
                            "id": "call_2",
                            "name": "weather",
                            "input": {}
                        }
                    ]
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "call_1",
                            "content": [
                                {
                                    "type": "text",
                                    "text": "12C"
                                }
                            ]
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "call_2",
                            "content": [
                                {
                                    "type": "text",
                                    "text": "bad arguments"
                                }
                            ],
                            "is_error": true
                        }
                    ]
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "thinking",
                            "thinking": "hmm",
                            "signature": "sig"
                        },
                        {
                            "type": "text",
                            "text": "It is 12C."
                        }
                    ]
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "Thanks."
                        }
                    ]
                }
            ],
            "stream": true,
            "thinking": {
                "type": "enabled",
                "budget_tokens": 1024
            },
            "tools": [
                {
                    "name": "weather",
                    "description": "The weather in a city.",
                    "input_schema": {
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
                {
                    "type": "web_search_20250305",
                    "name": "web_search",
                    "max_uses": 2
                },
                {
                    "type": "web_fetch_20250910",
                    "name": "web_fetch"
                }
            ],
            "tool_choice": {
                "type": "tool",
                "name": "weather",
                "disable_parallel_tool_use": true
            },
            "stop_sequences": [
                "END"
            ],
            "temperature": 0.5,
            "top_p": 0.25,
            "output_config": {
                "format": {
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
                }
            }
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn tool_results_are_grouped_and_failures_marked() {
        let call = ToolCall::new("toolu_1", "f", r#"{"a":1}"#);
        let req = ChatRequest::new(vec![
            Message::system("Be brief."),
            Message::user("hi"),
            Message::assistant_tool_calls(vec![call.clone()]),
            Message::tool_error(&call, "boom"),
        ]);
        let model = WireModel {
            name: "claude-x",
            max_tokens: 10,
            thinking: AnthropicThinking::Disabled,
        };
        let body = serde_json::to_value(request_body(&model, &req, false)).unwrap();
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief."}])
        );
        let msgs = body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1]["content"][0]["input"], json!({"a": 1}));
        assert_eq!(msgs[2]["content"][0]["is_error"], json!(true));
    }
}

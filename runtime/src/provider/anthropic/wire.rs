//! The Messages wire format, written: requests from a [`ChatRequest`], and
//! how the provider's error answers are typed. Answers are read in `read`.

use serde_json::{Map, Value, json};

use super::AnthropicThinking;
use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolChoice,
};
use crate::error::{Error, ErrorKind};
use crate::provider::json;

/// The provider name on [`ProviderState`]s this module writes.
pub(super) const PROVIDER: &str = "anthropic";

/// What the model adds to every request.
pub(super) struct WireModel<'a> {
    pub name: &'a str,
    pub max_tokens: u32,
    pub thinking: AnthropicThinking,
}

/// The request body for `request`.
pub(super) fn request_body(model: &WireModel<'_>, req: &ChatRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.name.into());
    body.insert(
        "max_tokens".into(),
        req.max_tokens.unwrap_or(model.max_tokens).into(),
    );
    let system: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(json!({"type": "text", "text": content})),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages(&req.messages).into());
    if stream {
        body.insert("stream".into(), true.into());
    }
    body.insert(
        "thinking".into(),
        match model.thinking {
            AnthropicThinking::Disabled => json!({"type": "disabled"}),
            AnthropicThinking::Adaptive => json!({"type": "adaptive", "display": "summarized"}),
            AnthropicThinking::Budget(n) => json!({"type": "enabled", "budget_tokens": n}),
        },
    );
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "description": t.description,
                "input_schema": t.parameters,
            })
        })
        .collect();
    for t in &req.server_tools {
        let (kind, name, max_uses) = match t {
            ServerTool::WebSearch { max_uses } => ("web_search_20250305", "web_search", max_uses),
            ServerTool::WebFetch { max_uses } => ("web_fetch_20250910", "web_fetch", max_uses),
        };
        let mut tool = json!({"type": kind, "name": name});
        if let Some(n) = max_uses {
            json::set(&mut tool, "max_uses", *n);
        }
        tools.push(tool);
    }
    if !tools.is_empty() {
        body.insert("tools".into(), tools.into());
    }
    let mut choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
    });
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
    }
    if let Some(c) = choice {
        body.insert("tool_choice".into(), c);
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if let ResponseFormat::JsonSchema { schema, .. } = &req.response_format {
        body.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": schema}}),
        );
    }
    Value::Object(body)
}

/// The conversation without its system messages; each run of tool results
/// becomes one user message of `tool_result` blocks.
fn messages(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut results: Vec<Value> = Vec::new();
    for m in messages {
        if let Message::Tool {
            tool_call_id,
            content,
            is_error,
            ..
        } = m
        {
            let mut block = json!({
                "type": "tool_result",
                "tool_use_id": tool_call_id,
                "content": [{"type": "text", "text": content}],
            });
            if *is_error {
                json::set(&mut block, "is_error", true);
            }
            results.push(block);
            continue;
        }
        if !results.is_empty() {
            out.push(json!({"role": "user", "content": std::mem::take(&mut results)}));
        }
        match m {
            Message::User { content } => {
                out.push(json!({"role": "user", "content": content.iter().map(part).collect::<Vec<_>>()}));
            }
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                let mut blocks: Vec<Value> = provider_state
                    .as_ref()
                    .filter(|s| s.provider == PROVIDER)
                    .and_then(|s| s.data.as_array().cloned())
                    .unwrap_or_default();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for c in tool_calls {
                    let input = c
                        .parsed_arguments()
                        .unwrap_or_else(|_| Value::Object(Map::new()));
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                out.push(json!({"role": "assistant", "content": blocks}));
            }
            Message::System { .. } | Message::Tool { .. } => {}
        }
    }
    if !results.is_empty() {
        out.push(json!({"role": "user", "content": results}));
    }
    out
}

/// A user message part as a content block.
fn part(p: &ContentPart) -> Value {
    if let ContentPart::Document(d) = p {
        let mut block = json!({
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": d.text},
        });
        if d.citations {
            json::set(&mut block, "citations", json!({"enabled": true}));
        }
        if let Some(t) = &d.title {
            json::set(&mut block, "title", t.clone());
        }
        return block;
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return json!({"type": "text", "text": text});
    };
    let kind = if media.kind() == MediaKind::Image {
        "image"
    } else {
        "document"
    };
    let source = match &media.source {
        MediaSource::Url(url) => json!({"type": "url", "url": url}),
        MediaSource::Base64(data) => {
            json!({"type": "base64", "media_type": media.media_type, "data": data})
        }
    };
    json!({"type": kind, "source": source})
}

/// A 404 about the model (`"model: …"`) as [`ErrorKind::ModelNotFound`](crate::ErrorKind::ModelNotFound).
pub(super) fn model_not_found(e: Error, model: &str) -> Error {
    let about_the_model = e.kind() == ErrorKind::BadRequest
        && e.api_error().is_some_and(|api| {
            api.status == 404
                && (api.message.starts_with("model:")
                    || api.kind.as_deref() == Some("not_found_error"))
        });
    if about_the_model {
        e.into_model_not_found(model)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ProviderState, ToolCall};

    #[test]
    fn every_field_is_written() {
        let state = ProviderState {
            provider: PROVIDER.into(),
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
        let body = request_body(&model, &req, false);
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

//! The Responses wire format, written: requests from a [`ChatRequest`], and
//! how the provider's errors name the model. Answers are read in `read`.

use serde_json::{Map, Value, json};

use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ResponseFormat, ServerTool,
    ToolChoice,
};
use crate::error::{Error, ErrorKind};
use crate::provider::json;

/// The provider name on [`ProviderState`]s this module writes.
pub(super) const PROVIDER: &str = "openai_responses";

/// The model's settings that shape every request.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub store: bool,
    pub reasoning_summary: bool,
    pub service_tier: Option<String>,
}

/// The response id an assistant message's state names, if it came from here.
fn response_id(m: &Message) -> Option<&str> {
    match m {
        Message::Assistant {
            provider_state: Some(s),
            ..
        } if s.provider == PROVIDER => s.data.get("response_id").and_then(Value::as_str),
        _ => None,
    }
}

/// The request body for `req`.
pub(super) fn request_body(model: &str, o: &Options, req: &ChatRequest, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    // With stored responses, the conversation up to the last answer is the
    // server's: name it, and send only what came after.
    let (previous, rest) = match o.store {
        true => match req.messages.iter().rposition(|m| response_id(m).is_some()) {
            Some(i) => (
                req.messages.get(i).and_then(response_id),
                req.messages.get(i + 1..).unwrap_or_default(),
            ),
            None => (None, req.messages.as_slice()),
        },
        false => (None, req.messages.as_slice()),
    };
    if let Some(id) = previous {
        body.insert("previous_response_id".into(), id.into());
    }
    let instructions: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    body.insert("input".into(), input(rest, o.store).into());
    if stream {
        body.insert("stream".into(), true.into());
    }
    body.insert("store".into(), o.store.into());
    if !o.store {
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    if let Some(t) = &o.service_tier {
        body.insert("service_tier".into(), t.clone().into());
    }
    if o.reasoning_summary || req.reasoning_effort.is_some() {
        let mut r = Map::new();
        if let Some(e) = req.reasoning_effort {
            r.insert("effort".into(), e.as_str().into());
        }
        if o.reasoning_summary {
            r.insert("summary".into(), "auto".into());
        }
        body.insert("reasoning".into(), Value::Object(r));
    }
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut tool = json!({
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            });
            if t.strict {
                json::set(&mut tool, "strict", true);
            }
            tool
        })
        .collect();
    for t in &req.server_tools {
        if let ServerTool::WebSearch { .. } = t {
            tools.push(json!({"type": "web_search"}));
            let include = body
                .entry("include")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = include.as_array_mut() {
                list.push("web_search_call.action.sources".into());
            }
        }
    }
    if !tools.is_empty() {
        body.insert("tools".into(), tools.into());
    }
    if let Some(c) = &req.tool_choice {
        body.insert(
            "tool_choice".into(),
            match c {
                ToolChoice::Auto => "auto".into(),
                ToolChoice::None => "none".into(),
                ToolChoice::Required => "required".into(),
                ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
            },
        );
    }
    if let Some(p) = req.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), p.into());
    }
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": name, "schema": schema, "strict": strict}}),
            );
        }
    }
    if let Some(n) = req.max_tokens {
        body.insert("max_output_tokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if req.logprobs {
        body.insert(
            "top_logprobs".into(),
            req.top_logprobs.unwrap_or_default().into(),
        );
        let include = body
            .entry("include")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = include.as_array_mut() {
            list.push("message.output_text.logprobs".into());
        }
    }
    Value::Object(body)
}

/// The input items for these messages (system messages go to `instructions`).
fn input(messages: &[Message], store: bool) -> Vec<Value> {
    let mut items = Vec::new();
    for m in messages {
        match m {
            Message::System { .. } => {}
            Message::User { content } => items.push(json!({
                "type": "message",
                "role": "user",
                "content": content.iter().map(part).collect::<Vec<_>>(),
            })),
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                // Reasoning the server does not keep travels encrypted.
                if !store
                    && let Some(s) = provider_state.as_ref().filter(|s| s.provider == PROVIDER)
                {
                    items.extend(
                        s.data
                            .get("items")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter(|i| i.get("type").and_then(Value::as_str) == Some("reasoning"))
                            .cloned(),
                    );
                }
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    items.push(json!({
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text}],
                    }));
                }
                for c in tool_calls {
                    items.push(json!({
                        "type": "function_call",
                        "call_id": c.id,
                        "name": c.name,
                        "arguments": c.arguments,
                    }));
                }
            }
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => items.push(json!({
                "type": "function_call_output",
                "call_id": tool_call_id,
                "output": content,
            })),
        }
    }
    items
}

fn part(p: &ContentPart) -> Value {
    if let ContentPart::Document(d) = p {
        return json!({"type": "input_text", "text": d.text});
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return json!({"type": "input_text", "text": text});
    };
    let url = match &media.source {
        MediaSource::Url(u) => u.clone(),
        MediaSource::Base64(b) => format!("data:{};base64,{b}", media.media_type),
    };
    if media.kind() == MediaKind::Image {
        return json!({"type": "input_image", "image_url": url, "detail": "auto"});
    }
    match &media.source {
        MediaSource::Url(u) => json!({"type": "input_file", "file_url": u}),
        MediaSource::Base64(_) => {
            let ext = media.media_type.rsplit('/').next().unwrap_or("bin");
            json!({"type": "input_file", "file_data": url, "filename": format!("document.{ext}")})
        }
    }
}

/// Names the model in an error that did not know it.
pub(super) fn model_error(e: Error, model: &str) -> Error {
    if e.kind() == ErrorKind::ModelNotFound {
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
                provider: PROVIDER.into(),
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
        let body = request_body("m", &stored, &req, false);
        assert_eq!(body["previous_response_id"], "resp_1");
        assert_eq!(
            body["input"],
            json!([{"type": "function_call_output", "call_id": "call_1", "output": "2"}])
        );
        let stateless = Options {
            store: false,
            ..stored
        };
        let body = request_body("m", &stateless, &req, false);
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

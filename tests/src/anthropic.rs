//! Anthropic Messages recordings: the typecall request a user would write for a
//! recorded body, and the facts a client must read out of a recorded answer
//! (read here by hand, independently of typecall's parser).

use serde_json::{Value, json};
use typecall::chat::{
    ChatRequest, ContentPart, Document, Media, MediaSource, Message, ProviderState, ResponseFormat,
    ServerTool, ToolCall, ToolChoice,
};
use typecall::provider::AnthropicThinking;
use typecall::tool::ToolDef;

/// The thinking setting a recorded body asks for.
pub fn thinking_of(body: &Value) -> AnthropicThinking {
    match body["thinking"]["type"].as_str() {
        Some("adaptive") => AnthropicThinking::Adaptive,
        Some("enabled") => {
            AnthropicThinking::Budget(body["thinking"]["budget_tokens"].as_u64().unwrap_or(0) as u32)
        }
        _ => AnthropicThinking::Disabled,
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn user_part(b: &Value) -> Option<ContentPart> {
    let source = &b["source"];
    match (b["type"].as_str()?, source["type"].as_str()) {
        ("text", _) => Some(ContentPart::text(b["text"].as_str()?)),
        ("document", Some("text")) => Some(ContentPart::Document(Document {
            text: source["data"].as_str()?.to_owned(),
            media_type: source["media_type"].as_str()?.to_owned(),
            title: b["title"].as_str().map(str::to_owned),
            citations: b["citations"]["enabled"].as_bool() == Some(true),
        })),
        ("image", Some("url")) => Some(ContentPart::image_url(source["url"].as_str()?)),
        ("document", Some("url")) => Some(ContentPart::media_url(
            "application/pdf",
            source["url"].as_str()?,
        )),
        (_, Some("base64")) => Some(ContentPart::Media(Media {
            media_type: source["media_type"].as_str()?.to_owned(),
            source: MediaSource::Base64(source["data"].as_str()?.to_owned()),
        })),
        _ => None,
    }
}

/// Builds, through typecall's public API, the request a user would write to
/// send what this recorded body says; and whether it streams.
pub fn request_from_recorded(body: &Value) -> (ChatRequest, bool) {
    let mut req = ChatRequest::default();
    for s in body["system"].as_array().into_iter().flatten() {
        req = req.message(Message::system(s["text"].as_str().unwrap_or_default()));
    }
    let mut names = std::collections::HashMap::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        let blocks = m["content"].as_array().cloned().unwrap_or_default();
        match m["role"].as_str().unwrap_or_default() {
            "user" => {
                let mut parts = Vec::new();
                for b in &blocks {
                    if b["type"] == "tool_result" {
                        let id = b["tool_use_id"].as_str().unwrap_or_default();
                        let call =
                            ToolCall::new(id, names.get(id).cloned().unwrap_or_default(), "");
                        let text = text_of(&b["content"]);
                        req = req.message(if b["is_error"] == true {
                            Message::tool_error(&call, text)
                        } else {
                            Message::tool_result(&call, text)
                        });
                    } else if let Some(p) = user_part(b) {
                        parts.push(p);
                    }
                }
                if !parts.is_empty() {
                    req = req.message(Message::user_parts(parts));
                }
            }
            "assistant" => {
                let mut text = None::<String>;
                let mut calls = Vec::new();
                let mut state = Vec::new();
                for b in &blocks {
                    match b["type"].as_str().unwrap_or_default() {
                        "text" => {
                            text.get_or_insert_with(String::new)
                                .push_str(b["text"].as_str().unwrap_or_default());
                        }
                        "tool_use" => {
                            let id = b["id"].as_str().unwrap_or_default().to_owned();
                            let name = b["name"].as_str().unwrap_or_default().to_owned();
                            names.insert(id.clone(), name.clone());
                            calls.push(ToolCall::new(id, name, b["input"].to_string()));
                        }
                        _ => state.push(b.clone()),
                    }
                }
                let mut msg = Message::assistant_tool_calls(calls);
                if let Message::Assistant {
                    content,
                    provider_state,
                    ..
                } = &mut msg
                {
                    *content = text;
                    *provider_state = (!state.is_empty()).then(|| ProviderState {
                        provider: "anthropic".into(),
                        data: Value::Array(state),
                    });
                }
                req = req.message(msg);
            }
            other => panic!("unexpected role {other}"),
        }
    }
    for t in body["tools"].as_array().into_iter().flatten() {
        let max_uses = t["max_uses"].as_u64().map(|n| n as u32);
        match t["type"].as_str() {
            Some(k) if k.starts_with("web_search") => {
                req = req.server_tool(ServerTool::WebSearch { max_uses });
            }
            Some(k) if k.starts_with("web_fetch") => {
                req = req.server_tool(ServerTool::WebFetch { max_uses });
            }
            _ => {
                req = req.tool(ToolDef::new(
                    t["name"].as_str().unwrap_or_default(),
                    t["description"].as_str().unwrap_or_default(),
                    t["input_schema"].clone(),
                ));
            }
        }
    }
    let choice = &body["tool_choice"];
    req.tool_choice = match choice["type"].as_str() {
        Some("auto") => Some(ToolChoice::Auto),
        Some("none") => Some(ToolChoice::None),
        Some("any") => Some(ToolChoice::Required),
        Some("tool") => Some(ToolChoice::Tool(
            choice["name"].as_str().unwrap_or_default().to_owned(),
        )),
        _ => None,
    };
    if choice["disable_parallel_tool_use"] == true {
        req.parallel_tool_calls = Some(false);
        if choice["type"] == "auto" {
            req.tool_choice = None;
        }
    }
    let schema = &body["output_config"]["format"]["schema"];
    req.response_format = if schema.is_null() {
        ResponseFormat::Text
    } else if schema.get("properties").is_none() && schema["type"] == "object" {
        // How the recording client asked for free-form JSON.
        ResponseFormat::JsonObject
    } else {
        ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: schema.clone(),
            strict: true,
        }
    };
    req.max_tokens = body["max_tokens"].as_u64().map(|n| n as u32);
    if let Some(stop) = body["stop_sequences"].as_array() {
        req = req.stop(stop.iter().filter_map(Value::as_str));
    }
    req.temperature = body["temperature"].as_f64().map(|t| t as f32);
    (req, body["stream"].as_bool().unwrap_or(false))
}

/// A request body without what does not change its meaning: `$schema` keys,
/// and `cache_control` (a caching hint the recording client put on every
/// document and image).
pub fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "$schema" && k.as_str() != "cache_control")
                .map(|(k, v)| (k.clone(), normalized(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// What a client must get out of a recorded answer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    /// The text blocks, joined (`None` when there was none).
    pub text: Option<String>,
    /// The thinking blocks, joined by newlines (`None` when empty).
    pub thinking: Option<String>,
    /// Tool uses: (name, input).
    pub tool_calls: Vec<(String, Value)>,
    /// Cited texts, in order.
    pub citations: Vec<String>,
    /// Server tool uses: (name, input).
    pub server_tools: Vec<(String, Value)>,
    /// Signed or redacted blocks that must go back (thinking with signature…).
    pub state_blocks: usize,
    /// `stop_reason`.
    pub stop_reason: Option<String>,
    /// The final usage object.
    pub usage: Value,
}

/// Reads a recorded answer body, blocking or SSE, into its [`Facts`].
pub fn facts_of(body: &str, stream: bool) -> Facts {
    let message = if stream {
        assemble_stream(body)
    } else {
        serde_json::from_str(body).expect("a JSON answer")
    };
    let mut f = Facts {
        stop_reason: message["stop_reason"].as_str().map(str::to_owned),
        usage: message["usage"].clone(),
        ..Facts::default()
    };
    let mut thinking = Vec::new();
    for b in message["content"].as_array().into_iter().flatten() {
        match b["type"].as_str().unwrap_or_default() {
            "text" => {
                f.text
                    .get_or_insert_with(String::new)
                    .push_str(b["text"].as_str().unwrap_or_default());
                for c in b["citations"].as_array().into_iter().flatten() {
                    f.citations
                        .push(c["cited_text"].as_str().unwrap_or_default().to_owned());
                }
            }
            "tool_use" => f.tool_calls.push((
                b["name"].as_str().unwrap_or_default().to_owned(),
                b["input"].clone(),
            )),
            other => {
                if other == "thinking" {
                    let t = b["thinking"].as_str().unwrap_or_default();
                    if !t.is_empty() {
                        thinking.push(t.to_owned());
                    }
                }
                if other == "server_tool_use" {
                    f.server_tools.push((
                        b["name"].as_str().unwrap_or_default().to_owned(),
                        b["input"].clone(),
                    ));
                }
                f.state_blocks += 1;
            }
        }
    }
    f.thinking = (!thinking.is_empty()).then(|| thinking.join("\n"));
    f
}

/// Assembles an SSE answer into the message a blocking call returns.
fn assemble_stream(body: &str) -> Value {
    let mut message = json!({});
    let mut inputs: Vec<String> = Vec::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let e: Value = serde_json::from_str(data.trim()).expect("an SSE event of JSON");
        match e["type"].as_str().unwrap_or_default() {
            "message_start" => {
                message = e["message"].clone();
                message["content"] = json!([]);
            }
            "content_block_start" => {
                message["content"]
                    .as_array_mut()
                    .unwrap()
                    .push(e["content_block"].clone());
                inputs.push(String::new());
            }
            "content_block_delta" => {
                let i = e["index"].as_u64().unwrap() as usize;
                let block = &mut message["content"][i];
                let d = &e["delta"];
                let mut add = |k: &str, v: &str| {
                    let s = block[k].as_str().unwrap_or_default().to_owned() + v;
                    block[k] = json!(s);
                };
                match d["type"].as_str().unwrap_or_default() {
                    "text_delta" => add("text", d["text"].as_str().unwrap()),
                    "thinking_delta" => add("thinking", d["thinking"].as_str().unwrap()),
                    "signature_delta" => add("signature", d["signature"].as_str().unwrap()),
                    "input_json_delta" => inputs[i].push_str(d["partial_json"].as_str().unwrap()),
                    "citations_delta" => {
                        if !block["citations"].is_array() {
                            block["citations"] = json!([]);
                        }
                        block["citations"]
                            .as_array_mut()
                            .unwrap()
                            .push(d["citation"].clone());
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let i = e["index"].as_u64().unwrap() as usize;
                if !inputs[i].is_empty() {
                    message["content"][i]["input"] = serde_json::from_str(&inputs[i]).unwrap();
                }
            }
            "message_delta" => {
                for (k, v) in e["delta"].as_object().unwrap() {
                    message[k.as_str()] = v.clone();
                }
                for (k, v) in e["usage"].as_object().into_iter().flatten() {
                    message["usage"][k.as_str()] = v.clone();
                }
            }
            _ => {}
        }
    }
    message
}

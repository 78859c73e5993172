//! Gemini recordings: the typecall request a user would write for a recorded
//! body (with the model settings it implies), and the facts a client must
//! read out of a recorded answer, read here by hand.

use serde_json::{Map, Value, json};
use typecall::chat::{
    ChatRequest, ContentPart, Media, MediaSource, Message, ProviderState, ResponseFormat,
    ServerTool, ToolCall, ToolChoice,
};
use typecall::provider::GeminiModel;
use typecall::tool::ToolDef;

/// The model settings a recorded body implies.
pub fn configure(model: GeminiModel, body: &Value) -> GeminiModel {
    match body
        .pointer("/generationConfig/thinkingConfig/thinkingBudget")
        .and_then(Value::as_u64)
    {
        Some(n) => model.thinking_budget(n as u32),
        None => model,
    }
}

/// A Gemini-dialect schema as the JSON Schema a Rust user would have
/// (lower-case types), so that the request test exercises the conversion.
pub fn as_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                let v = match (k.as_str(), v) {
                    ("type", Value::String(t)) => Value::String(t.to_ascii_lowercase()),
                    ("properties", Value::Object(props)) => Value::Object(
                        props
                            .iter()
                            .map(|(name, p)| (name.clone(), as_json_schema(p)))
                            .collect(),
                    ),
                    _ => as_json_schema(v),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(as_json_schema).collect()),
        other => other.clone(),
    }
}

fn user_part(p: &Value) -> Option<ContentPart> {
    if let Some(t) = p["text"].as_str() {
        return Some(ContentPart::text(t));
    }
    if let Some(d) = p.get("inlineData") {
        return Some(ContentPart::Media(Media {
            media_type: d["mimeType"].as_str()?.to_owned(),
            source: MediaSource::Base64(d["data"].as_str()?.to_owned()),
        }));
    }
    let f = p.get("fileData")?;
    Some(ContentPart::media_url(
        f["mimeType"].as_str()?,
        f["fileUri"].as_str()?,
    ))
}

/// Builds, through typecall's public API, the request a user would write to
/// send what this recorded body says; and whether it streams (from the URL).
pub fn request_from_recorded(body: &Value, url: &str) -> ChatRequest {
    let mut req = ChatRequest::default();
    for p in body["systemInstruction"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        req = req.message(Message::system(p["text"].as_str().unwrap_or_default()));
    }
    for c in body["contents"].as_array().into_iter().flatten() {
        let parts = c["parts"].as_array().cloned().unwrap_or_default();
        if c["role"] == "model" {
            let mut text = None::<String>;
            let mut calls = Vec::new();
            let mut signed = false;
            for p in &parts {
                signed |= p.get("thoughtSignature").is_some() || p.get("thought").is_some();
                if let Some(f) = p.get("functionCall") {
                    calls.push(ToolCall::new(
                        f["id"].as_str().unwrap_or_default(),
                        f["name"].as_str().unwrap_or_default(),
                        f["args"].to_string(),
                    ));
                } else if p["thought"] != true
                    && let Some(t) = p["text"].as_str()
                {
                    text.get_or_insert_with(String::new).push_str(t);
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
                *provider_state = signed.then(|| ProviderState {
                    provider: "gemini".into(),
                    data: json!({ "parts": parts }),
                });
            }
            req = req.message(msg);
            continue;
        }
        let mut user = Vec::new();
        for p in &parts {
            if let Some(r) = p.get("functionResponse") {
                let call = ToolCall::new(
                    r["id"].as_str().unwrap_or_default(),
                    r["name"].as_str().unwrap_or_default(),
                    "{}",
                );
                req = req.message(match r["response"].get("error") {
                    Some(e) => Message::tool_error(&call, e.as_str().unwrap_or_default()),
                    None => Message::tool_result(
                        &call,
                        r["response"]["response"].as_str().unwrap_or_default(),
                    ),
                });
            } else if let Some(part) = user_part(p) {
                user.push(part);
            }
        }
        if !user.is_empty() {
            req = req.message(Message::user_parts(user));
        }
    }
    for t in body["tools"].as_array().into_iter().flatten() {
        if t.get("googleSearch").is_some() {
            req = req.server_tool(ServerTool::WebSearch { max_uses: None });
        }
        if t.get("urlContext").is_some() {
            req = req.server_tool(ServerTool::WebFetch { max_uses: None });
        }
        for f in t["functionDeclarations"].as_array().into_iter().flatten() {
            req = req.tool(ToolDef::new(
                f["name"].as_str().unwrap_or_default(),
                f["description"].as_str().unwrap_or_default(),
                as_json_schema(&f["parameters"]),
            ));
        }
    }
    let calling = &body["toolConfig"]["functionCallingConfig"];
    req.tool_choice = match (
        calling["mode"].as_str(),
        calling["allowedFunctionNames"].as_array(),
    ) {
        (Some("ANY"), Some(names)) if names.len() == 1 => Some(ToolChoice::Tool(
            names[0].as_str().unwrap_or_default().to_owned(),
        )),
        (Some("ANY"), _) => Some(ToolChoice::Required),
        (Some("AUTO"), _) => Some(ToolChoice::Auto),
        (Some("NONE"), _) => Some(ToolChoice::None),
        _ => None,
    };
    let g = &body["generationConfig"];
    req.response_format = match (g["responseMimeType"].as_str(), g.get("responseSchema")) {
        (Some("application/json"), Some(schema)) => ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: as_json_schema(schema),
            strict: false,
        },
        (Some("application/json"), None) => ResponseFormat::JsonObject,
        _ => ResponseFormat::Text,
    };
    req.seed = g["seed"].as_i64();
    if let Some(stop) = g["stopSequences"].as_array() {
        req = req.stop(stop.iter().filter_map(Value::as_str));
    }
    req.max_tokens = g["maxOutputTokens"].as_u64().map(|n| n as u32);
    req.temperature = g["temperature"].as_f64().map(|t| t as f32);
    if g["responseLogprobs"] == true {
        req = req.logprobs(g["logprobs"].as_u64().unwrap_or(0) as u8);
    }
    let _ = url;
    req
}

/// What a client must get out of a recorded answer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    /// The answer text (`None` when there was none).
    pub text: Option<String>,
    /// The thought text (`None` when there was none).
    pub thoughts: Option<String>,
    /// Function calls: (name, args).
    pub tool_calls: Vec<(String, Value)>,
    /// The last finish reason.
    pub finish_reason: Option<String>,
    /// The last usage metadata.
    pub usage: Value,
    /// Whether grounding (search or URL context) was reported.
    pub grounded: bool,
    /// The response id.
    pub id: String,
}

/// Reads a recorded answer, blocking or SSE, into its [`Facts`].
pub fn facts_of(body: &str, stream: bool) -> Facts {
    let chunks: Vec<Value> = if stream {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| serde_json::from_str(d.trim()).expect("a JSON chunk"))
            .collect()
    } else {
        vec![serde_json::from_str(body).expect("a JSON answer")]
    };
    let mut f = Facts::default();
    for c in &chunks {
        let cand = &c["candidates"][0];
        for p in cand["content"]["parts"].as_array().into_iter().flatten() {
            if let Some(call) = p.get("functionCall") {
                f.tool_calls.push((
                    call["name"].as_str().unwrap_or_default().to_owned(),
                    call["args"].clone(),
                ));
            } else if let Some(t) = p["text"].as_str().filter(|t| !t.is_empty()) {
                // An empty text part (streams end with one) carries nothing.
                let target = if p["thought"] == true {
                    &mut f.thoughts
                } else {
                    &mut f.text
                };
                target.get_or_insert_with(String::new).push_str(t);
            }
        }
        if let Some(r) = cand["finishReason"].as_str() {
            f.finish_reason = Some(r.to_owned());
        }
        if c.get("usageMetadata").is_some() {
            f.usage = c["usageMetadata"].clone();
        }
        f.grounded |=
            cand.get("groundingMetadata").is_some() || cand.get("urlContextMetadata").is_some();
        if let Some(id) = c["responseId"].as_str() {
            f.id = id.to_owned();
        }
    }
    f
}

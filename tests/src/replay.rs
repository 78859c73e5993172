//! Turning recorded requests into typecall requests, and recorded answers into
//! the facts a client must get out of them (an oracle independent of the
//! provider's parser).

use serde_json::Value;
use typecall::chat::{ChatRequest, ContentPart, Message, ResponseFormat, ToolCall, ToolChoice};
use typecall::tool::ToolDef;

/// Builds, through typecall's public API, the request a user would write to send
/// what this recorded body says.
pub fn request_from_recorded(body: &Value) -> (ChatRequest, bool) {
    let body = &in_openai_form(body);
    let mut req = ChatRequest::default();
    for m in body["messages"].as_array().into_iter().flatten() {
        let msg = match m["role"].as_str().unwrap_or_default() {
            "system" => Message::system(m["content"].as_str().unwrap_or_default()),
            "user" => match &m["content"] {
                Value::String(s) => Message::user(s.clone()),
                Value::Array(parts) => Message::user_parts(parts.iter().map(vendor_part).collect()),
                other => panic!("unexpected user content {other}"),
            },
            "assistant" => {
                let reasoning = m["reasoning_content"]
                    .as_str()
                    .or_else(|| m["reasoning"].as_str())
                    .map(str::to_owned);
                let calls = m["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        ToolCall::new(
                            c["id"].as_str().unwrap_or_default(),
                            c["function"]["name"].as_str().unwrap_or_default(),
                            c["function"]["arguments"].as_str().unwrap_or_default(),
                        )
                    })
                    .collect::<Vec<_>>();
                let mut msg = match m["content"].as_str() {
                    Some(text) if calls.is_empty() => Message::assistant(text),
                    _ => Message::assistant_tool_calls(calls),
                };
                if let Message::Assistant { reasoning: r, .. } = &mut msg {
                    *r = reasoning;
                }
                msg
            }
            "tool" => Message::Tool {
                tool_call_id: m["tool_call_id"].as_str().unwrap_or_default().to_owned(),
                name: m["name"].as_str().unwrap_or_default().to_owned(),
                content: match &m["content"] {
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join(""),
                    other => other.as_str().unwrap_or_default().to_owned(),
                },
                is_error: false,
            },
            other => panic!("unexpected role {other}"),
        };
        req = req.message(msg);
    }
    for t in body["tools"].as_array().into_iter().flatten() {
        match t["type"].as_str() {
            Some("function") | None => {
                let f = &t["function"];
                req = req.tool(
                    ToolDef::new(
                        f["name"].as_str().unwrap_or_default(),
                        f["description"].as_str().unwrap_or_default(),
                        f["parameters"].clone(),
                    )
                    .strict(f["strict"] == true),
                );
            }
            Some(kind) if kind.contains("fetch") || kind.contains("visit") => {
                req = req.server_tool(typecall::chat::ServerTool::WebFetch { max_uses: None });
            }
            Some(_) => {
                req = req.server_tool(typecall::chat::ServerTool::WebSearch { max_uses: None });
            }
        }
    }
    // DashScope's switch for its own web search.
    if body["enable_search"] == true {
        req = req.server_tool(typecall::chat::ServerTool::WebSearch { max_uses: None });
    }
    req.tool_choice = match &body["tool_choice"] {
        Value::String(s) if s == "auto" => Some(ToolChoice::Auto),
        Value::String(s) if s == "none" => Some(ToolChoice::None),
        Value::String(s) if s == "required" => Some(ToolChoice::Required),
        Value::Object(o) => Some(ToolChoice::Tool(
            o["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )),
        _ => None,
    };
    req.parallel_tool_calls = body["parallel_tool_calls"].as_bool();
    req.response_format = match body["response_format"]["type"].as_str() {
        Some("json_object") => ResponseFormat::JsonObject,
        Some("json_schema") => {
            let r = &body["response_format"];
            let j = &r["json_schema"];
            ResponseFormat::JsonSchema {
                name: j["name"].as_str().unwrap_or_default().to_owned(),
                // Together puts the schema right in `response_format`.
                schema: if j.is_null() {
                    r["schema"].clone()
                } else {
                    j["schema"].clone()
                },
                strict: j["strict"].as_bool().unwrap_or(false),
            }
        }
        _ => ResponseFormat::Text,
    };
    req.seed = body["seed"]
        .as_i64()
        .or_else(|| body["random_seed"].as_i64());
    req.max_tokens = body["max_completion_tokens"]
        .as_u64()
        .or_else(|| body["max_tokens"].as_u64())
        .or_else(|| body["n_predict"].as_u64())
        .map(|n| n as u32);
    if let Some(e) = body["reasoning_effort"].as_str() {
        use typecall::chat::ReasoningEffort as E;
        req.reasoning_effort = [E::None, E::Minimal, E::Low, E::Medium, E::High]
            .into_iter()
            .find(|x| x.as_str() == e);
    }
    if let Some(stop) = body["stop"].as_array() {
        req = req.stop(stop.iter().filter_map(Value::as_str));
    }
    if body["logprobs"].as_bool() == Some(true) {
        req = req.logprobs(body["top_logprobs"].as_u64().unwrap_or(0) as u8);
    } else if let Some(n) = body["logprobs"].as_u64() {
        // Together: the number of alternatives.
        req = req.logprobs(n as u8);
    }
    // Speech asked for (`audio: {format, voice}`).
    if let Some(format) = body["audio"]["format"].as_str() {
        let mut speech = typecall::chat::MediaOutput::speech(format);
        if let Some(voice) = body["audio"]["voice"].as_str() {
            speech = speech.voice(voice);
        }
        req = req.media_output(speech);
    }
    (req, body["stream"].as_bool().unwrap_or(false))
}

/// A user message part in any vendor's media form.
fn vendor_part(p: &Value) -> ContentPart {
    let data_url = |u: &str| -> Option<ContentPart> {
        let rest = u.strip_prefix("data:")?;
        let (mt, b64) = rest.split_once(";base64,")?;
        Some(ContentPart::Media(typecall::chat::Media {
            media_type: mt.to_owned(),
            source: typecall::chat::MediaSource::Base64(b64.to_owned()),
        }))
    };
    match p["type"].as_str() {
        Some("image_url") => {
            ContentPart::image_url(p["image_url"]["url"].as_str().unwrap_or_default())
        }
        Some("document_url") => ContentPart::media_url(
            "application/pdf",
            p["document_url"].as_str().unwrap_or_default(),
        ),
        Some("file") => data_url(p["file"]["file_data"].as_str().unwrap_or_default())
            .unwrap_or_else(|| ContentPart::text("")),
        Some("video_url") => {
            let u = p["video_url"]["url"].as_str().unwrap_or_default();
            data_url(u).unwrap_or_else(|| ContentPart::media_url("video/mp4", u))
        }
        Some("input_audio") => {
            let (data, format) = match &p["input_audio"] {
                Value::String(s) => (s.clone(), "aac".to_owned()),
                v => (
                    v["data"].as_str().unwrap_or_default().to_owned(),
                    v["format"].as_str().unwrap_or("wav").to_owned(),
                ),
            };
            let mt = match format.as_str() {
                "mp3" => "audio/mpeg".to_owned(),
                f => format!("audio/{f}"),
            };
            ContentPart::Media(typecall::chat::Media {
                media_type: mt,
                source: typecall::chat::MediaSource::Base64(data),
            })
        }
        _ => ContentPart::text(p["text"].as_str().unwrap_or_default()),
    }
}

/// A request without what does not change its meaning: `$schema` keys,
/// `stream_options` when it does not stream, and a message's `content`
/// given as one text part rather than a string (the same per the
/// chat-completions spec).
pub fn normalized_chat(v: &Value) -> Value {
    let mut v = without_schema_keys(&in_openai_form(v));
    // `stream_options` on a request that does not stream means nothing
    // (Pollinations' recording client sent it on every request).
    if v["stream"] != true
        && let Some(o) = v.as_object_mut()
    {
        o.remove("stream_options");
    }
    for m in v["messages"].as_array_mut().into_iter().flatten() {
        let text = match m["content"].as_array().map(Vec::as_slice) {
            Some([one]) if one["type"] == "text" => one["text"].as_str().map(str::to_owned),
            _ => None,
        };
        if let Some(t) = text {
            m["content"] = Value::String(t);
        }
        // Some clients echo a stream's `index` on the calls they send back.
        for c in m["tool_calls"].as_array_mut().into_iter().flatten() {
            if let Some(o) = c.as_object_mut() {
                o.remove("index");
            }
        }
    }
    v
}

/// A recorded request in OpenAI's forms. The client that recorded Hugging
/// Face wrote a tool's schema as `function.arguments` (TGI's old name) and
/// merged the JSON Schema into `json_schema` beside its `name`; the router's
/// providers refuse the first (`Extra inputs are not permitted, field:
/// 'tools[0].function.arguments'`, as recorded), and typecall sends OpenAI's
/// `parameters` and `{name, schema, strict}`. Other requests are unchanged.
pub fn in_openai_form(v: &Value) -> Value {
    let mut v = v.clone();
    for t in v["tools"].as_array_mut().into_iter().flatten() {
        if let Some(f) = t["function"].as_object_mut()
            && !f.contains_key("parameters")
            && let Some(schema) = f.remove("arguments")
        {
            f.insert("parameters".to_owned(), schema);
        }
    }
    let merged = v["response_format"]["json_schema"]
        .as_object()
        .filter(|j| {
            !j.contains_key("schema") && (j.contains_key("properties") || j.contains_key("type"))
        })
        .cloned();
    if let Some(mut j) = merged {
        let name = j.remove("name").unwrap_or(Value::String(String::new()));
        let strict = j.remove("strict").unwrap_or(Value::Bool(false));
        v["response_format"]["json_schema"] =
            serde_json::json!({"name": name, "schema": Value::Object(j), "strict": strict});
    }
    v
}

/// Removes every `$schema` key, for comparing requests by meaning.
pub fn without_schema_keys(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "$schema")
                .map(|(k, v)| (k.clone(), without_schema_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_schema_keys).collect()),
        other => other.clone(),
    }
}

/// What a client must get out of a recorded successful answer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    /// The raw content (think blocks included).
    pub content: String,
    /// The reasoning field, concatenated.
    pub reasoning: String,
    /// (name, arguments) of each tool call, arguments concatenated by index.
    pub tool_calls: Vec<(String, String)>,
    /// The finish reason.
    pub finish_reason: Option<String>,
    /// The usage object.
    pub usage: Value,
    /// How many tokens had logprobs, and how many alternatives each.
    pub logprobs: Vec<usize>,
}

/// Reads the facts of a recorded body, blocking JSON or SSE lines.
pub fn facts_of(body: &str, stream: bool) -> Facts {
    let mut f = Facts::default();
    if !stream {
        let v: Value = serde_json::from_str(body).expect("recorded body is JSON");
        let c = &v["choices"][0];
        f.content = c["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        f.reasoning = c["message"]["reasoning"]
            .as_str()
            .or_else(|| c["message"]["reasoning_content"].as_str())
            .unwrap_or_default()
            .to_owned();
        for t in c["message"]["tool_calls"].as_array().into_iter().flatten() {
            f.tool_calls.push((
                t["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                t["function"]["arguments"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
        }
        f.finish_reason = c["finish_reason"].as_str().map(str::to_owned);
        f.usage = v["usage"].clone();
        for t in c["logprobs"]["content"].as_array().into_iter().flatten() {
            f.logprobs
                .push(t["top_logprobs"].as_array().map_or(0, Vec::len));
        }
        return f;
    }
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data.trim() == "[DONE]" {
            break;
        }
        let v: Value = serde_json::from_str(data).expect("recorded chunk is JSON");
        if !v["usage"].is_null() {
            f.usage = v["usage"].clone();
        }
        let c = &v["choices"][0];
        let d = &c["delta"];
        f.content
            .push_str(d["content"].as_str().unwrap_or_default());
        f.reasoning.push_str(
            d["reasoning"]
                .as_str()
                .or_else(|| d["reasoning_content"].as_str())
                .unwrap_or_default(),
        );
        for t in d["tool_calls"].as_array().into_iter().flatten() {
            let i = t["index"].as_u64().unwrap_or(0) as usize;
            while f.tool_calls.len() <= i {
                f.tool_calls.push(Default::default());
            }
            f.tool_calls[i]
                .0
                .push_str(t["function"]["name"].as_str().unwrap_or_default());
            f.tool_calls[i]
                .1
                .push_str(t["function"]["arguments"].as_str().unwrap_or_default());
        }
        if let Some(r) = c["finish_reason"].as_str() {
            f.finish_reason = Some(r.to_owned());
        }
        for t in c["logprobs"]["content"].as_array().into_iter().flatten() {
            f.logprobs
                .push(t["top_logprobs"].as_array().map_or(0, Vec::len));
        }
    }
    f
}

//! OpenAI Responses recordings: the typecall request a user would write for a
//! recorded body (with the model settings it implies), and the facts a client
//! must read out of a recorded answer, read here from the server's own final
//! response object.

use serde_json::Value;
use typecall::chat::{
    ChatRequest, ContentPart, Media, MediaSource, Message, ProviderState, ReasoningEffort,
    ResponseFormat, ServerTool, ToolCall, ToolChoice,
};
use typecall::provider::OpenAiResponsesModel;
use typecall::tool::ToolDef;

/// The model settings a recorded body implies.
pub fn configure(model: OpenAiResponsesModel, body: &Value) -> OpenAiResponsesModel {
    let mut model = model
        .store(body["store"].as_bool().unwrap_or(true))
        .reasoning_summary(body["reasoning"]["summary"].is_string());
    if let Some(t) = body["service_tier"].as_str() {
        model = model.service_tier(t);
    }
    model
}

fn part(p: &Value) -> Option<ContentPart> {
    match p["type"].as_str()? {
        "input_text" => Some(ContentPart::text(p["text"].as_str()?)),
        "input_image" => Some(ContentPart::image_url(p["image_url"].as_str()?)),
        "input_file" => {
            if let Some(url) = p["file_url"].as_str() {
                return Some(ContentPart::media_url("application/pdf", url));
            }
            let data = p["file_data"].as_str()?.strip_prefix("data:")?;
            let (media_type, b64) = data.split_once(";base64,")?;
            Some(ContentPart::Media(Media {
                media_type: media_type.to_owned(),
                source: MediaSource::Base64(b64.to_owned()),
            }))
        }
        _ => None,
    }
}

/// Builds, through typecall's public API, the request a user would write to
/// send what this recorded body says; and whether it streams. A body that
/// continues a stored response (`previous_response_id`) stands for a
/// conversation whose earlier turns the server keeps: they are rebuilt as a
/// user turn and an answer carrying that response's id.
pub fn request_from_recorded(body: &Value) -> (ChatRequest, bool) {
    let mut req = ChatRequest::default();
    if let Some(i) = body["instructions"].as_str() {
        req = req.message(Message::system(i));
    }
    let tool_names: Vec<&str> = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let items = body["input"].as_array().cloned().unwrap_or_default();
    if let Some(previous) = body["previous_response_id"].as_str() {
        let calls: Vec<ToolCall> = items
            .iter()
            .filter(|i| i["type"] == "function_call_output")
            .map(|i| {
                ToolCall::new(
                    i["call_id"].as_str().unwrap_or_default(),
                    tool_names.first().copied().unwrap_or_default(),
                    "{}",
                )
            })
            .collect();
        let mut answer = Message::assistant_tool_calls(calls);
        if let Message::Assistant { provider_state, .. } = &mut answer {
            *provider_state = Some(ProviderState {
                provider: "openai_responses".into(),
                data: serde_json::json!({"response_id": previous, "items": []}),
            });
        }
        req = req
            .message(Message::user("(the earlier turns, kept by the server)"))
            .message(answer);
    }
    for i in &items {
        match i["type"].as_str().unwrap_or_default() {
            "message" => {
                let parts = i["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(part)
                    .collect();
                req = req.message(Message::user_parts(parts));
            }
            "function_call_output" => {
                let call = ToolCall::new(
                    i["call_id"].as_str().unwrap_or_default(),
                    tool_names.first().copied().unwrap_or_default(),
                    "{}",
                );
                req = req.message(Message::tool_result(
                    &call,
                    i["output"].as_str().unwrap_or_default(),
                ));
            }
            other => panic!("unexpected input item {other}"),
        }
    }
    for t in body["tools"].as_array().into_iter().flatten() {
        match t["type"].as_str() {
            Some("web_search") => req = req.server_tool(ServerTool::WebSearch { max_uses: None }),
            _ => {
                req = req.tool(
                    ToolDef::new(
                        t["name"].as_str().unwrap_or_default(),
                        t["description"].as_str().unwrap_or_default(),
                        t["parameters"].clone(),
                    )
                    .strict(t["strict"] == true),
                )
            }
        }
    }
    req.tool_choice = match &body["tool_choice"] {
        Value::String(s) if s == "auto" => Some(ToolChoice::Auto),
        Value::String(s) if s == "none" => Some(ToolChoice::None),
        Value::String(s) if s == "required" => Some(ToolChoice::Required),
        Value::Object(o) => Some(ToolChoice::Tool(
            o["name"].as_str().unwrap_or_default().to_owned(),
        )),
        _ => None,
    };
    req.parallel_tool_calls = body["parallel_tool_calls"].as_bool();
    let format = &body["text"]["format"];
    req.response_format = match format["type"].as_str() {
        Some("json_object") => ResponseFormat::JsonObject,
        Some("json_schema") => ResponseFormat::JsonSchema {
            name: format["name"].as_str().unwrap_or_default().to_owned(),
            schema: format["schema"].clone(),
            strict: format["strict"].as_bool().unwrap_or(false),
        },
        _ => ResponseFormat::Text,
    };
    req.max_tokens = body["max_output_tokens"].as_u64().map(|n| n as u32);
    if let Some(n) = body["top_logprobs"].as_u64() {
        req = req.logprobs(n as u8);
    }
    req.reasoning_effort = match body["reasoning"]["effort"].as_str() {
        Some("low") => Some(ReasoningEffort::Low),
        Some("medium") => Some(ReasoningEffort::Medium),
        Some("high") => Some(ReasoningEffort::High),
        _ => None,
    };
    (req, body["stream"].as_bool().unwrap_or(false))
}

/// What a client must get out of a recorded answer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Facts {
    /// The output text, joined (`None` when there was none).
    pub text: Option<String>,
    /// The reasoning summaries, joined by newlines.
    pub reasoning: Option<String>,
    /// Function calls: (name, parsed arguments).
    pub tool_calls: Vec<(String, Value)>,
    /// Web searches: their queries.
    pub searches: Vec<Value>,
    /// Why it stopped short, if it did.
    pub incomplete: Option<String>,
    /// The usage object.
    pub usage: Value,
    /// The response id.
    pub id: String,
}

/// Reads a recorded answer, blocking or SSE, into its [`Facts`].
pub fn facts_of(body: &str, stream: bool) -> Facts {
    let response: Value = if stream {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|e| {
                matches!(
                    e["type"].as_str(),
                    Some("response.completed" | "response.incomplete")
                )
            })
            .expect("a final response event")["response"]
            .clone()
    } else {
        serde_json::from_str(body).expect("a JSON answer")
    };
    let mut f = Facts {
        incomplete: response["incomplete_details"]["reason"]
            .as_str()
            .map(str::to_owned),
        usage: response["usage"].clone(),
        id: response["id"].as_str().unwrap_or_default().to_owned(),
        ..Facts::default()
    };
    let mut summaries = Vec::new();
    for item in response["output"].as_array().into_iter().flatten() {
        match item["type"].as_str().unwrap_or_default() {
            "message" => {
                for c in item["content"].as_array().into_iter().flatten() {
                    if let Some(t) = c["text"].as_str() {
                        f.text.get_or_insert_with(String::new).push_str(t);
                    }
                }
            }
            "reasoning" => {
                for s in item["summary"].as_array().into_iter().flatten() {
                    summaries.push(s["text"].as_str().unwrap_or_default().to_owned());
                }
            }
            "function_call" => f.tool_calls.push((
                item["name"].as_str().unwrap_or_default().to_owned(),
                serde_json::from_str(item["arguments"].as_str().unwrap_or("{}")).unwrap(),
            )),
            "web_search_call" => f.searches.push(item["action"]["query"].clone()),
            _ => {}
        }
    }
    f.reasoning = (!summaries.is_empty()).then(|| summaries.join("\n"));
    f
}

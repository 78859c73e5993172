//! The Gemini wire format, written: a [`ChatRequest`] as the typed body
//! `generateContent` takes (schemas converted to Gemini's dialect), and the
//! conversation as cached contents take it.

use serde::Serialize;
use serde_json::{Map, Value};

use super::STATE_NAME;
use crate::chat::{
    ChatRequest, ContentPart, MediaKind, MediaSource, Message, ProviderState, ResponseFormat,
    ServerTool, ToolCall, ToolChoice,
};
use crate::error::Result;
use crate::provider::json;
use crate::schema::to_gemini;

/// A `generateContent` request body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Request<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content: Option<&'a str>,
    #[serde(flatten)]
    conversation: Conversation<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_config: Option<ToolConfig<'a>>,
    generation_config: GenerationConfig<'a>,
}

/// A `cachedContents` creation body: a conversation kept for a while.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CacheRequest<'a> {
    #[serde(flatten)]
    conversation: Conversation<'a>,
    ttl: String,
    display_name: &'a str,
    model: String,
}

/// The system instruction and the contents.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Conversation<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<SystemInstruction<'a>>,
    contents: Vec<Content<'a>>,
}

#[derive(Serialize)]
struct SystemInstruction<'a> {
    parts: Vec<Part<'a>>,
}

/// One turn of the conversation.
#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: Parts<'a>,
}

/// A turn's parts: written by typecall, or the model's own going back as
/// they came (thoughts and signatures included).
#[derive(Serialize)]
#[serde(untagged)]
enum Parts<'a> {
    Written(Vec<Part<'a>>),
    Saved(Vec<Value>),
}

/// A part typecall writes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Part<'a> {
    Text(&'a str),
    InlineData {
        mime_type: String,
        data: String,
    },
    FileData {
        mime_type: String,
        file_uri: String,
    },
    FunctionCall {
        id: &'a str,
        name: &'a str,
        args: Value,
    },
    FunctionResponse {
        name: &'a str,
        response: ToolOutput<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
}

/// A tool's result, or its failure.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
enum ToolOutput<'a> {
    Response(&'a str),
    Error(&'a str),
}

/// A tool: the request's functions, or one Gemini runs.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Tool<'a> {
    FunctionDeclarations(Vec<Declaration<'a>>),
    GoogleSearch {},
    UrlContext {},
}

#[derive(Serialize)]
struct Declaration<'a> {
    name: &'a str,
    description: &'a str,
    parameters: Value,
    response: &'static ResultSchema,
}

/// The schema of what every typecall tool returns to Gemini: its result
/// text under `response` (see [`ToolOutput`]).
#[derive(Serialize)]
struct ResultSchema {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: ResultProperties,
    required: [&'static str; 1],
}

#[derive(Serialize)]
struct ResultProperties {
    response: TypeOnly,
}

#[derive(Serialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: &'static str,
}

static RESULT_SCHEMA: ResultSchema = ResultSchema {
    kind: "OBJECT",
    properties: ResultProperties {
        response: TypeOnly { kind: "STRING" },
    },
    required: ["response"],
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig<'a> {
    function_calling_config: CallingConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallingConfig<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_function_names: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig<'a> {
    response_modalities: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    // Floats go out as f64, as they always have.
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_config: Option<ThinkingConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThinkingConfig {
    include_thoughts: bool,
    thinking_budget: u32,
}

/// A model name as one URL path segment (spaces and other reserved
/// characters percent-encoded; `/` kept for `tunedModels/…`-style names is not
/// allowed here).
pub(super) fn path_segment(name: &str) -> String {
    crate::provider::writing::percent_encoded(name, b"")
}

/// The body that keeps `prefix` (its system instruction and conversation)
/// as cached contents of `model` for `ttl` (`"600s"`), named `display_name`.
pub(super) fn cache_body<'a>(
    prefix: &'a ChatRequest,
    model: &str,
    ttl: String,
    display_name: &'a str,
) -> CacheRequest<'a> {
    CacheRequest {
        conversation: conversation(&prefix.messages),
        ttl,
        display_name,
        model: format!("models/{model}"),
    }
}

/// The system messages as the system instruction, the rest as contents.
fn conversation(messages: &[Message]) -> Conversation<'_> {
    let system: Vec<Part<'_>> = messages
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(Part::Text(content)),
            _ => None,
        })
        .collect();
    Conversation {
        system_instruction: (!system.is_empty()).then_some(SystemInstruction { parts: system }),
        contents: contents(messages),
    }
}

/// The request body for `req`.
///
/// # Errors
/// [`ErrorKind::Schema`](crate::ErrorKind::Schema) when a tool's or the
/// answer's schema cannot be written in Gemini's dialect.
pub(super) fn request_body<'a>(
    req: &'a ChatRequest,
    thinking_budget: Option<u32>,
    cached: Option<&'a str>,
) -> Result<Request<'a>> {
    let mut tools = Vec::new();
    if !req.tools.is_empty() {
        let declarations = req
            .tools
            .iter()
            .map(|t| {
                Ok(Declaration {
                    name: &t.name,
                    description: &t.description,
                    parameters: to_gemini(&t.parameters, &t.name)?,
                    response: &RESULT_SCHEMA,
                })
            })
            .collect::<Result<_>>()?;
        tools.push(Tool::FunctionDeclarations(declarations));
    }
    tools.extend(req.server_tools.iter().map(|t| match t {
        ServerTool::WebSearch { .. } => Tool::GoogleSearch {},
        ServerTool::WebFetch { .. } => Tool::UrlContext {},
    }));
    let tool_config = req.tool_choice.as_ref().map(|c| {
        let (mode, allowed_function_names) = match c {
            ToolChoice::Auto => ("AUTO", None),
            ToolChoice::None => ("NONE", None),
            ToolChoice::Required => ("ANY", None),
            ToolChoice::Tool(name) => ("ANY", Some([name.as_str()])),
        };
        ToolConfig {
            function_calling_config: CallingConfig {
                mode,
                allowed_function_names,
            },
        }
    });
    let (response_mime_type, response_schema) = match &req.response_format {
        ResponseFormat::Text => (None, None),
        ResponseFormat::JsonObject => (Some("application/json"), None),
        ResponseFormat::JsonSchema { name, schema, .. } => {
            (Some("application/json"), Some(to_gemini(schema, name)?))
        }
    };
    Ok(Request {
        cached_content: cached,
        conversation: conversation(&req.messages),
        tools,
        tool_config,
        generation_config: GenerationConfig {
            response_modalities: ["TEXT"],
            response_mime_type,
            response_schema,
            seed: req.seed,
            stop_sequences: &req.stop,
            max_output_tokens: req.max_tokens,
            temperature: req.temperature.map(f64::from),
            top_p: req.top_p.map(f64::from),
            response_logprobs: req.logprobs.then_some(true),
            logprobs: req.logprobs.then(|| req.top_logprobs.unwrap_or_default()),
            thinking_config: thinking_budget.map(|budget| ThinkingConfig {
                include_thoughts: budget > 0,
                thinking_budget: budget,
            }),
        },
    })
}

/// The parts a model answer had, when its state holds them and they carry
/// the message's calls (the same tools in the same order): they go back
/// unchanged, signatures and thoughts included, each call under the id the
/// conversation gave it (which differs from the server's when the server
/// reused an id), so its result and its signature stay paired.
fn saved_parts(state: Option<&ProviderState>, calls: &[ToolCall]) -> Option<Vec<Value>> {
    let parts = state
        .filter(|s| s.provider == STATE_NAME)?
        .data
        .get("parts")?
        .as_array()?;
    let names: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.get("functionCall"))
        .map(|f| f.get("name").and_then(Value::as_str).unwrap_or_default())
        .collect();
    let same = names.len() == calls.len() && names.iter().zip(calls).all(|(n, c)| *n == c.name);
    if !same {
        return None;
    }
    let mut parts = parts.clone();
    let mut own = calls.iter();
    for call in parts.iter_mut().filter_map(|p| p.get_mut("functionCall")) {
        let Some(c) = own.next() else { break };
        if call
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty() && id != c.id)
        {
            json::set(call, "id", c.id.clone());
        }
        if !call.get("args").is_some_and(Value::is_object) {
            json::set(call, "args", Value::Object(Map::new()));
        }
    }
    Some(parts)
}

/// The conversation as `contents` (system messages go to `systemInstruction`).
fn contents(messages: &[Message]) -> Vec<Content<'_>> {
    let mut out = Vec::new();
    let mut responses = Vec::new();
    for m in messages {
        if let Message::Tool {
            tool_call_id,
            name,
            content,
            is_error,
        } = m
        {
            responses.push(Part::FunctionResponse {
                name,
                response: if *is_error {
                    ToolOutput::Error(content)
                } else {
                    ToolOutput::Response(content)
                },
                id: (!tool_call_id.is_empty()).then_some(tool_call_id.as_str()),
            });
            continue;
        }
        if !responses.is_empty() {
            out.push(Content {
                role: "user",
                parts: Parts::Written(std::mem::take(&mut responses)),
            });
        }
        match m {
            Message::User { content } => out.push(Content {
                role: "user",
                parts: Parts::Written(content.iter().map(part).collect()),
            }),
            Message::Assistant {
                content,
                tool_calls,
                provider_state,
                ..
            } => {
                if let Some(parts) = saved_parts(provider_state.as_ref(), tool_calls) {
                    out.push(Content {
                        role: "model",
                        parts: Parts::Saved(parts),
                    });
                    continue;
                }
                let mut parts = Vec::new();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    parts.push(Part::Text(text));
                }
                for c in tool_calls {
                    let args = c
                        .parsed_arguments()
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| Value::Object(Map::new()));
                    parts.push(Part::FunctionCall {
                        id: &c.id,
                        name: &c.name,
                        args,
                    });
                }
                out.push(Content {
                    role: "model",
                    parts: Parts::Written(parts),
                });
            }
            Message::System { .. } | Message::Tool { .. } => {}
        }
    }
    if !responses.is_empty() {
        out.push(Content {
            role: "user",
            parts: Parts::Written(responses),
        });
    }
    out
}

/// The media type of an image URL, from its extension.
fn image_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        _ => "image/jpeg",
    }
}

fn part(p: &ContentPart) -> Part<'_> {
    if let ContentPart::Document(d) = p {
        return Part::Text(&d.text);
    }
    let Some(media) = p.as_media() else {
        let text = match p {
            ContentPart::Text(t) => t.as_str(),
            _ => "",
        };
        return Part::Text(text);
    };
    let image = media.kind() == MediaKind::Image;
    match media.source {
        MediaSource::Base64(data) => Part::InlineData {
            mime_type: media.media_type,
            data,
        },
        MediaSource::Url(file_uri) => {
            let mime_type = if media.media_type.ends_with("/*") && image {
                image_type(&file_uri).to_owned()
            } else {
                media.media_type
            };
            Part::FileData {
                mime_type,
                file_uri,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_is_written() {
        let state = ProviderState {
            provider: STATE_NAME.into(),
            data: json!({"parts": [{"text": "It is 12C.", "thoughtSignature": "sig"}]}),
        };
        let req = crate::provider::request_fixture::every_field(Some(state));
        let body =
            serde_json::to_value(request_body(&req, Some(512), Some("cachedContents/c1")).unwrap())
                .unwrap();
        let expected = json!({
            "cachedContent": "cachedContents/c1",
            "systemInstruction": {
                "parts": [
                    {
                        "text": "Be brief."
                    },
                    {
                        "text": "Use metric units."
                    }
                ]
            },
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {
                            "text": "Look:"
                        },
                        {
                            "fileData": {
                                "mimeType": "image/png",
                                "fileUri": "https://example.com/cat.png?size=2"
                            }
                        },
                        {
                            "inlineData": {
                                "mimeType": "image/png",
                                "data": "AQID"
                            }
                        },
                        {
                            "fileData": {
                                "mimeType": "application/pdf",
                                "fileUri": "https://example.com/a.pdf"
                            }
                        },
                        {
                            "inlineData": {
                                "mimeType": "application/pdf",
                                "data": "BAUG"
                            }
                        },
                        {
                            "text": "Oslo is cold."
                        }
                    ]
                },
                {
                    "role": "model",
                    "parts": [
                        {
                            "text": "Let me check."
                        },
                        {
                            "functionCall": {
                                "id": "call_1",
                                "name": "weather",
                                "args": {
                                    "city": "Oslo"
                                }
                            }
                        },
                        {
                            "functionCall": {
                                "id": "call_2",
                                "name": "weather",
                                "args": {}
                            }
                        }
                    ]
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "name": "weather",
                                "response": {
                                    "response": "12C"
                                },
                                "id": "call_1"
                            }
                        },
                        {
                            "functionResponse": {
                                "name": "weather",
                                "response": {
                                    "error": "bad arguments"
                                },
                                "id": "call_2"
                            }
                        }
                    ]
                },
                {
                    "role": "model",
                    "parts": [
                        {
                            "text": "It is 12C.",
                            "thoughtSignature": "sig"
                        }
                    ]
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "text": "Thanks."
                        }
                    ]
                }
            ],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "weather",
                            "description": "The weather in a city.",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {
                                    "city": {
                                        "type": "STRING"
                                    }
                                },
                                "required": [
                                    "city"
                                ]
                            },
                            "response": {
                                "type": "OBJECT",
                                "properties": {
                                    "response": {
                                        "type": "STRING"
                                    }
                                },
                                "required": [
                                    "response"
                                ]
                            }
                        }
                    ]
                },
                {
                    "googleSearch": {}
                },
                {
                    "urlContext": {}
                }
            ],
            "toolConfig": {
                "functionCallingConfig": {
                    "mode": "ANY",
                    "allowedFunctionNames": [
                        "weather"
                    ]
                }
            },
            "generationConfig": {
                "responseModalities": [
                    "TEXT"
                ],
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "OBJECT",
                    "properties": {
                        "city": {
                            "type": "STRING"
                        }
                    },
                    "required": [
                        "city"
                    ]
                },
                "seed": 7,
                "stopSequences": [
                    "END"
                ],
                "maxOutputTokens": 100,
                "temperature": 0.5,
                "topP": 0.25,
                "responseLogprobs": true,
                "logprobs": 3,
                "thinkingConfig": {
                    "includeThoughts": true,
                    "thinkingBudget": 512
                }
            }
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn signed_parts_go_back_unchanged_and_results_are_grouped() {
        let call = ToolCall::new("c1", "f", r#"{"a":1}"#);
        let parts = json!([{"text": "hm", "thought": true}, {"functionCall": {"id": "c1", "name": "f", "args": {"a": 1}}, "thoughtSignature": "sig"}]);
        let mut answer = Message::assistant_tool_calls(vec![call.clone()]);
        if let Message::Assistant { provider_state, .. } = &mut answer {
            *provider_state = Some(ProviderState {
                provider: STATE_NAME.into(),
                data: json!({ "parts": parts }),
            });
        }
        let req = ChatRequest::new(vec![
            Message::user("hi"),
            answer,
            Message::tool_error(&call, "boom"),
        ]);
        let body = serde_json::to_value(request_body(&req, None, None).unwrap()).unwrap();
        assert_eq!(body["contents"][1]["parts"], parts);
        assert_eq!(
            body["contents"][2]["parts"][0]["functionResponse"]["response"],
            json!({"error": "boom"})
        );
    }

    #[test]
    fn cached_contents_keep_the_conversation_for_a_while() {
        let prefix = ChatRequest::new(vec![Message::system("Be brief."), Message::user("hi")]);
        let body = cache_body(&prefix, "gemini-x", "600s".into(), "notes");
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "ttl": "600s",
                "displayName": "notes",
                "model": "models/gemini-x",
            })
        );
    }

    #[test]
    fn model_names_are_one_path_segment() {
        assert_eq!(path_segment("bad model"), "bad%20model");
        assert_eq!(path_segment("a/../b"), "a%2F..%2Fb");
    }
}

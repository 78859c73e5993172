//! What a request means, for matching it to a recording: the same model, stream
//! flag, user and tool messages in order, and the same set of options — not
//! byte-equal JSON, so that key order or an added system line do not matter.

use std::fmt;

use serde_json::Value;

/// The meaning of a chat request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestMeaning {
    /// `POST /chat/completions` or `GET /models`…: the method and the last path segment.
    pub endpoint: String,
    /// The model.
    pub model: String,
    /// Whether it streams.
    pub stream: bool,
    /// The user and tool messages, in order: (role, text); a request's
    /// separate documents (Cohere's) come first, as `("document", text)`.
    pub messages: Vec<(String, String)>,
    /// The tools' names, sorted.
    pub tools: Vec<String>,
    /// `tool_choice`, as JSON text.
    pub tool_choice: Option<String>,
    /// The response format type.
    pub response_format: Option<String>,
    /// The seed.
    pub seed: Option<i64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// logprobs / top_logprobs.
    pub logprobs: Option<u64>,
    /// The token limit.
    pub max_tokens: Option<u64>,
    /// llama.cpp's `chat_template_kwargs` or Ollama's `think` (their
    /// thinking switches), as JSON text: a llama.cpp request names no
    /// model, and an Ollama model's thinking and plain runs are otherwise
    /// the same request, so this tells them apart.
    pub template: Option<String>,
}

impl RequestMeaning {
    /// The meaning of a request to `path` (a query after it is read for
    /// its `model` alone: a `GET` names its model so) with JSON `body`.
    pub fn of(method: &str, path: &str, body: Option<&Value>) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let endpoint = format!(
            "{} {}",
            method.to_ascii_uppercase(),
            path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
        );
        let null = Value::Null;
        let b = body.unwrap_or(&null);
        let query_model = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("model="))
            .unwrap_or("");
        let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let messages = conversation(b);
        let mut tools: Vec<String> = b
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(tool_names)
            .collect();
        tools.sort();
        let logprobs = match b.get("logprobs") {
            Some(Value::Bool(true)) => {
                Some(b.get("top_logprobs").and_then(Value::as_u64).unwrap_or(0))
            }
            _ => b
                .get("top_logprobs")
                .or_else(|| b.pointer("/generationConfig/logprobs"))
                .and_then(Value::as_u64),
        };
        let mut stop: Vec<String> = match b
            .get("stop")
            .or_else(|| b.get("stop_sequences"))
            .or_else(|| b.pointer("/generationConfig/stopSequences"))
            .or_else(|| b.pointer("/options/stop"))
        {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        stop.sort();
        let response_format = b
            .pointer("/response_format/type")
            .or_else(|| b.pointer("/output_config/format/type"))
            .or_else(|| b.pointer("/text/format/type"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| match b.get("format") {
                // Ollama's: `"json"`, or a schema.
                Some(Value::String(f)) => Some(f.clone()),
                Some(Value::Object(_)) => Some("json_schema".to_owned()),
                _ => None,
            })
            .or_else(|| {
                let mime = b.pointer("/generationConfig/responseMimeType")?.as_str()?;
                let schema = b.pointer("/generationConfig/responseSchema").is_some();
                Some(format!("{mime}{}", if schema { "+schema" } else { "" }))
            });
        Self {
            endpoint,
            model: match s("model") {
                m if m.is_empty() => query_model.to_owned(),
                m => m,
            },
            stream: b.get("stream").and_then(Value::as_bool).unwrap_or(false),
            messages,
            tools,
            tool_choice: b
                .get("tool_choice")
                .or_else(|| b.pointer("/toolConfig/functionCallingConfig"))
                .map(Value::to_string),
            response_format,
            seed: b
                .get("seed")
                .or_else(|| b.pointer("/generationConfig/seed"))
                .or_else(|| b.pointer("/options/seed"))
                .and_then(Value::as_i64),
            stop,
            logprobs,
            max_tokens: b
                .get("max_completion_tokens")
                .or_else(|| b.get("max_tokens"))
                .or_else(|| b.get("max_output_tokens"))
                .or_else(|| b.pointer("/generationConfig/maxOutputTokens"))
                .or_else(|| b.pointer("/options/num_predict"))
                .and_then(Value::as_u64),
            template: b
                .get("chat_template_kwargs")
                .or_else(|| b.get("think"))
                .map(Value::to_string),
        }
    }
}

/// The user and tool turns of a request in any of the spoken formats: chat
/// completions and Anthropic (`messages`, with Cohere's `documents`), Gemini (`contents`), OpenAI
/// Responses (`input`), an image job's `prompt`.
fn conversation(b: &Value) -> Vec<(String, String)> {
    let list = |k: &str| b.get(k).and_then(Value::as_array).into_iter().flatten();
    if b.get("messages").is_some() {
        // Cohere's documents, apart from the messages: their text.
        let documents = list("documents").map(|d| {
            let text = d
                .pointer("/data/snippet")
                .or_else(|| d.pointer("/data/text"));
            (
                "document".to_owned(),
                text.and_then(Value::as_str).unwrap_or_default().to_owned(),
            )
        });
        return documents
            .chain(list("messages").filter_map(|m| {
                let role = m.get("role").and_then(Value::as_str)?;
                matches!(role, "user" | "tool")
                    .then(|| (role.to_owned(), content_text(m.get("content"))))
            }))
            .collect();
    }
    // An image job (BFL): its prompt.
    if let Some(prompt) = b.get("prompt").and_then(Value::as_str) {
        return vec![("user".to_owned(), prompt.trim().to_owned())];
    }
    if b.get("contents").is_some() {
        return list("contents")
            .filter(|c| c.get("role").and_then(Value::as_str) != Some("model"))
            .map(|c| ("user".to_owned(), content_text(c.get("parts"))))
            .collect();
    }
    list("input")
        .filter_map(|item| match item.get("type").and_then(Value::as_str) {
            Some("function_call_output") => Some((
                "tool".to_owned(),
                item.get("output")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )),
            Some("message") | None if item.get("role").and_then(Value::as_str) == Some("user") => {
                Some(("user".to_owned(), content_text(item.get("content"))))
            }
            _ => None,
        })
        .collect()
}

/// The names a tool entry gives: a function's name, or a provider tool's
/// type (`web_search_20250305`, `googleSearch`).
fn tool_names(t: &Value) -> Vec<String> {
    if let Some(decls) = t.get("functionDeclarations").and_then(Value::as_array) {
        return decls
            .iter()
            .filter_map(|d| d.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
    }
    let name = t
        .pointer("/function/name")
        .or_else(|| t.get("name"))
        .or_else(|| t.get("type"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match name {
        Some(n) => vec![n],
        None => t
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

fn content_text(c: Option<&Value>) -> String {
    match c {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match (p.get("text"), p.pointer("/image_url/url")) {
                (Some(Value::String(t)), _) => t.trim().to_owned(),
                (_, Some(Value::String(u))) => format!("[image {} bytes]", u.len()),
                _ => part_signature(p),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// What a non-text part carries, in key order whatever the JSON's: its
/// strings (long ones by length), without formatting hints (`type`,
/// `cache_control`, `detail`, `filename`).
fn part_signature(p: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 16 {
            return;
        }
        match v {
            Value::String(s) if s.len() > 200 => out.push(format!("#{}", s.len())),
            Value::String(s) => out.push(s.trim().to_owned()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out, depth + 1)),
            Value::Object(o) => {
                let mut keys: Vec<&String> = o
                    .keys()
                    .filter(|k| {
                        !matches!(
                            k.as_str(),
                            "type" | "cache_control" | "detail" | "filename" | "citations"
                        )
                    })
                    .collect();
                keys.sort();
                for k in keys {
                    if let Some(v) = o.get(k) {
                        walk(v, out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(p, &mut out, 0);
    format!("[{}]", out.join(" "))
}

impl fmt::Display for RequestMeaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} model={:?} stream={}",
            self.endpoint, self.model, self.stream
        )?;
        for (role, text) in &self.messages {
            let short: String = text.chars().take(60).collect();
            write!(f, " {role}={short:?}")?;
        }
        if !self.tools.is_empty() {
            write!(f, " tools={:?}", self.tools)?;
        }
        if let Some(c) = &self.tool_choice {
            write!(f, " tool_choice={c}")?;
        }
        if let Some(r) = &self.response_format {
            write!(f, " response_format={r}")?;
        }
        if let Some(s) = self.seed {
            write!(f, " seed={s}")?;
        }
        if !self.stop.is_empty() {
            write!(f, " stop={:?}", self.stop)?;
        }
        if let Some(l) = self.logprobs {
            write!(f, " top_logprobs={l}")?;
        }
        if let Some(m) = self.max_tokens {
            write!(f, " max_tokens={m}")?;
        }
        Ok(())
    }
}

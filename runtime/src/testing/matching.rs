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
    /// The user and tool messages, in order: (role, text).
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
}

impl RequestMeaning {
    /// The meaning of a request to `path` with JSON `body`.
    pub fn of(method: &str, path: &str, body: Option<&Value>) -> Self {
        let endpoint = format!(
            "{} {}",
            method.to_ascii_uppercase(),
            path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
        );
        let null = Value::Null;
        let b = body.unwrap_or(&null);
        let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let messages = b
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let role = m.get("role").and_then(Value::as_str)?;
                matches!(role, "user" | "tool")
                    .then(|| (role.to_owned(), content_text(m.get("content"))))
            })
            .collect();
        let mut tools: Vec<String> = b
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t.pointer("/function/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        tools.sort();
        let logprobs = match b.get("logprobs") {
            Some(Value::Bool(true)) => {
                Some(b.get("top_logprobs").and_then(Value::as_u64).unwrap_or(0))
            }
            _ => None,
        };
        let mut stop: Vec<String> = match b.get("stop") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        stop.sort();
        Self {
            endpoint,
            model: s("model"),
            stream: b.get("stream").and_then(Value::as_bool).unwrap_or(false),
            messages,
            tools,
            tool_choice: b.get("tool_choice").map(Value::to_string),
            response_format: b
                .pointer("/response_format/type")
                .and_then(Value::as_str)
                .map(str::to_owned),
            seed: b.get("seed").and_then(Value::as_i64),
            stop,
            logprobs,
            max_tokens: b
                .get("max_completion_tokens")
                .or_else(|| b.get("max_tokens"))
                .and_then(Value::as_u64),
        }
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
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
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

//! A model that answers from a script, for unit-testing agents with no server.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::chat::{ChatRequest, ChatResponse, FinishReason, ToolCall, Usage};
use crate::error::{Error, Result};
use crate::future::BoxFuture;
use crate::provider::{Capabilities, ChatStream, Model};

#[derive(Debug, Clone)]
enum Reply {
    Text(String),
    Calls(Vec<(String, Args)>),
}

#[derive(Debug, Clone)]
enum Args {
    Json(Value),
    Raw(String),
    /// Filled from the tool's schema in the request.
    Any,
}

/// A [`Model`] that answers from a script of texts and tool calls, in order,
/// and records every request. It can fill schema-valid arguments for any tool
/// by itself.
///
/// ```
/// use typecall::testing::ScriptedModel;
/// use typecall::{Agent, tool};
///
/// /// Adds two numbers.
/// #[tool]
/// fn add(a: i64, b: i64) -> i64 { a + b }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::new().tool_call("add", serde_json::json!({"a": 2, "b": 3})).text("5");
/// let run = Agent::new(model).tool(Add).run("2 + 3?").await.unwrap();
/// assert_eq!(run.text(), "5");
/// assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("5"));
/// # });
/// ```
#[derive(Debug, Default)]
pub struct ScriptedModel {
    name: String,
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<ChatRequest>>,
    capabilities: Option<Capabilities>,
    calls: Mutex<u64>,
    chunk_bytes: usize,
}

/// How many bytes a streamed piece of text or arguments has by default: about
/// a token.
const CHUNK_BYTES: usize = 8;

impl ScriptedModel {
    /// An empty script. Streamed answers come in pieces of about a token
    /// (8 bytes; see [`ScriptedModel::stream_chunks`]).
    pub fn new() -> Self {
        Self {
            name: "scripted".into(),
            chunk_bytes: CHUNK_BYTES,
            ..Self::default()
        }
    }

    /// Streams text, reasoning and tool arguments in pieces of at most `bytes`
    /// bytes (whole characters; `usize::MAX` for one piece each), as a server
    /// would: partial values of a streamed extraction, and tools starting
    /// while the answer still streams, can be tried with no server.
    pub fn stream_chunks(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    fn push(self, r: Reply) -> Self {
        if let Ok(mut s) = self.script.lock() {
            s.push_back(r);
        }
        self
    }

    /// Next, answer with this text.
    pub fn text(self, t: impl Into<String>) -> Self {
        self.push(Reply::Text(t.into()))
    }
    /// Next, call this tool with these arguments.
    pub fn tool_call(self, name: impl Into<String>, args: Value) -> Self {
        self.push(Reply::Calls(vec![(name.into(), Args::Json(args))]))
    }
    /// Next, call these tools at once.
    pub fn tool_calls<S: Into<String>>(self, calls: impl IntoIterator<Item = (S, Value)>) -> Self {
        self.push(Reply::Calls(
            calls
                .into_iter()
                .map(|(n, a)| (n.into(), Args::Json(a)))
                .collect(),
        ))
    }
    /// Next, call this tool with arguments written exactly so (not JSON, say).
    pub fn raw_tool_call(self, name: impl Into<String>, raw: impl Into<String>) -> Self {
        self.push(Reply::Calls(vec![(name.into(), Args::Raw(raw.into()))]))
    }
    /// Next, call this tool with schema-valid arguments made up from its schema.
    pub fn any_tool_call(self, name: impl Into<String>) -> Self {
        self.push(Reply::Calls(vec![(name.into(), Args::Any)]))
    }
    /// Declares capabilities (default: everything works).
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = Some(caps);
        self
    }
    /// The requests received, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
    /// How many replies are left.
    pub fn remaining(&self) -> usize {
        self.script.lock().map(|s| s.len()).unwrap_or(0)
    }

    fn answer(&self, req: &ChatRequest) -> Result<ChatResponse> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(req.clone());
        }
        let reply = self
            .script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .ok_or_else(|| Error::config("the ScriptedModel's script is exhausted"))?;
        let n = {
            let mut c = self.calls.lock().map_err(|_| Error::config("poisoned"))?;
            *c += 1;
            *c
        };
        let prompt_tokens = req
            .messages
            .iter()
            .map(|m| m.text().len() as u64 / 4 + 1)
            .sum::<u64>();
        let mut resp = ChatResponse {
            id: format!("scripted-{n}"),
            model: self.name.clone(),
            ..ChatResponse::default()
        };
        match reply {
            Reply::Text(t) => {
                resp.usage = usage(prompt_tokens, t.len() as u64 / 4 + 1);
                resp.content = Some(t);
                resp.finish_reason = FinishReason::Stop;
            }
            Reply::Calls(calls) => {
                for (i, (name, args)) in calls.into_iter().enumerate() {
                    let arguments = match args {
                        Args::Json(v) => v.to_string(),
                        Args::Raw(r) => r,
                        Args::Any => {
                            let schema = req
                                .tools
                                .iter()
                                .find(|t| t.name == name)
                                .map(|t| t.parameters.clone())
                                .unwrap_or(json!({}));
                            example(&schema, &schema, 0).to_string()
                        }
                    };
                    resp.tool_calls
                        .push(ToolCall::new(format!("call_{n}_{i}"), name, arguments));
                }
                resp.usage = usage(prompt_tokens, 10 * resp.tool_calls.len() as u64);
                resp.finish_reason = FinishReason::ToolCalls;
            }
        }
        Ok(resp)
    }
}

fn usage(prompt: u64, completion: u64) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ..Usage::default()
    }
}

impl Model for ScriptedModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone().unwrap_or_else(Capabilities::all)
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        Box::pin(async move { self.answer(request) })
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        Box::pin(async move {
            let events = crate::chat::events_in_chunks(self.answer(request)?, self.chunk_bytes);
            Ok(Box::pin(futures_util::stream::iter(events.into_iter().map(Ok))) as ChatStream)
        })
    }
}

/// A value valid against `schema` (a made-up example), for filling arguments.
pub fn example(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    let Some(o) = schema.as_object() else {
        return Value::Null;
    };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(&Value::Null);
        return example(target, root, depth + 1);
    }
    if let Some(Value::Array(e)) = o.get("enum")
        && let Some(first) = e.iter().find(|v| !v.is_null()).or(e.first())
    {
        return first.clone();
    }
    if let Some(c) = o.get("const") {
        return c.clone();
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(Value::Array(bs)) = o.get(k) {
            let pick = bs
                .iter()
                .find(|b| b.get("type") != Some(&json!("null")))
                .or(bs.first());
            return pick
                .map(|b| example(b, root, depth + 1))
                .unwrap_or(Value::Null);
        }
    }
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if o.contains_key("properties") => "object",
        _ => "null",
    };
    let num = |k: &str| o.get(k).and_then(Value::as_f64);
    match ty {
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> = o
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = o.get("properties") {
                for (k, p) in props {
                    if required.contains(&k.as_str()) {
                        out.insert(k.clone(), example(p, root, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = o
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            if let Some(Value::Array(prefix)) = o.get("prefixItems") {
                return Value::Array(prefix.iter().map(|p| example(p, root, depth + 1)).collect());
            }
            let item = o.get("items").cloned().unwrap_or(json!({}));
            Value::Array((0..n).map(|_| example(&item, root, depth + 1)).collect())
        }
        "string" => {
            let min = o.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let mut s = "example".to_owned();
            while s.len() < min {
                s.push('x');
            }
            Value::String(s)
        }
        "integer" => json!(num("minimum").map(|m| m.ceil() as i64).unwrap_or(1)),
        "number" => json!(num("minimum").unwrap_or(1.0)),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

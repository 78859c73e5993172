//! Chat completions, reading a blocking answer: JSON → [`ChatResponse`], and
//! the usage, timing and logprob shapes streams share.

use serde_json::Value;

use crate::chat::{
    ChatResponse, FinishReason, RateLimits, ServerToolCall, TimeInfo, TokenLogprob, ToolCall,
    TopLogprob, Usage, WebSource, separate_reasoning,
};
use crate::error::{Error, Result};
use crate::provider::http::{error_status_in, status_error};

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Parses a blocking answer.
pub(crate) fn parse_response(
    body: &str,
    rate_limits: RateLimits,
    inference_id: Option<String>,
) -> Result<ChatResponse> {
    let mut v: Value = serde_json::from_str(body)
        .map_err(|_| Error::protocol("a chat completion (not JSON)", body))?;
    // An error in a successful answer (OpenRouter relays an upstream
    // provider's refusal so): typed by the status it names.
    if v.get("choices").is_none() && v.get("error").is_some_and(Value::is_object) {
        let status = error_status_in(&v, 500);
        return Err(status_error(
            status,
            body,
            v.get("model").and_then(Value::as_str).unwrap_or_default(),
            rate_limits,
            None,
            None,
        ));
    }
    // Strings are moved out of the parsed value, not copied.
    let mut choice = v
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .and_then(|c| c.first_mut())
        .map(Value::take)
        .ok_or_else(|| Error::protocol("a chat completion (no `choices`)", body))?;
    let mut msg = choice
        .get_mut("message")
        .filter(|m| m.is_object())
        .map(Value::take)
        .ok_or_else(|| Error::protocol("a chat completion (no `message` object)", body))?;
    let server_tool_calls: Vec<ServerToolCall> = msg
        .get("executed_tools")
        .map(executed_tools)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let content = take_str(&mut msg, "content");
    let reasoning =
        take_str(&mut msg, "reasoning").or_else(|| take_str(&mut msg, "reasoning_content"));
    let (content, reasoning) = separate_reasoning(content, reasoning);
    let mut tool_calls = Vec::new();
    if let Some(Value::Array(calls)) = msg.get_mut("tool_calls") {
        for c in calls.iter_mut() {
            let mut f = c.get_mut("function").map(Value::take).unwrap_or_default();
            let arguments = match f.get_mut("arguments").map(Value::take) {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            tool_calls.push(ToolCall::new(
                take_str(c, "id").unwrap_or_default(),
                take_str(&mut f, "name").unwrap_or_default(),
                arguments,
            ));
        }
    }
    let mut usage = v.get("usage").map(parse_usage).unwrap_or_default();
    usage.time = v.get("time_info").and_then(parse_time);
    usage.inference_id = inference_id;
    Ok(ChatResponse {
        id: take_str(&mut v, "id").unwrap_or_default(),
        model: take_str(&mut v, "model").unwrap_or_default(),
        content,
        reasoning,
        tool_calls,
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(FinishReason::from_wire)
            .unwrap_or_default(),
        usage,
        logprobs: choice.get("logprobs").and_then(parse_logprobs),
        rate_limits,
        system_fingerprint: take_str(&mut v, "system_fingerprint"),
        server_tool_calls,
        ..ChatResponse::default()
    })
}

/// A string field moved out of an object (`None` when absent or not a string).
fn take_str(v: &mut Value, key: &str) -> Option<String> {
    match v.get_mut(key) {
        Some(Value::String(s)) => Some(std::mem::take(s)),
        _ => None,
    }
}

/// llama.cpp's `timings` (`prompt_n`, `predicted_n`) as token counts.
pub(super) fn usage_of_timings(t: &Value) -> Usage {
    let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (prompt, completion) = (n("prompt_n").saturating_add(n("cache_n")), n("predicted_n"));
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        ..Usage::default()
    }
}

pub(super) fn parse_usage(u: &Value) -> Usage {
    // `get` chains, not `Value::pointer` (which allocates per segment).
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    let nested = |outer: &str, k: &str| u.get(outer).and_then(|d| n(d, k));
    Usage {
        prompt_tokens: n(u, "prompt_tokens").unwrap_or(0),
        completion_tokens: n(u, "completion_tokens").unwrap_or(0),
        total_tokens: n(u, "total_tokens").unwrap_or(0),
        reasoning_tokens: nested("completion_tokens_details", "reasoning_tokens"),
        cached_tokens: nested("prompt_tokens_details", "cached_tokens"),
        cache_write_tokens: None,
        time: None,
        inference_id: None,
    }
}

pub(super) fn parse_time(t: &Value) -> Option<TimeInfo> {
    let f = |k: &str| t.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    t.is_object().then(|| TimeInfo {
        queue_time: f("queue_time"),
        prompt_time: f("prompt_time"),
        completion_time: f("completion_time"),
        total_time: f("total_time"),
    })
}

/// The completions-style form (Together): parallel `tokens`,
/// `token_logprobs` and `top_logprobs` lists.
fn completions_logprobs(
    l: &Value,
    scored: &dyn Fn(&Value) -> TopLogprob,
) -> Option<Vec<TokenLogprob>> {
    let tokens = l.get("tokens")?.as_array()?;
    let logprobs = l.get("token_logprobs").and_then(Value::as_array);
    let tops = l.get("top_logprobs").and_then(Value::as_array);
    Some(
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| TokenLogprob {
                token: t.as_str().unwrap_or_default().to_owned(),
                logprob: logprobs
                    .and_then(|p| p.get(i))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NEG_INFINITY),
                bytes: None,
                top_logprobs: tops
                    .and_then(|t| t.get(i))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(scored)
                    .collect(),
            })
            .collect(),
    )
}

pub(super) fn parse_logprobs(l: &Value) -> Option<Vec<TokenLogprob>> {
    // A token and each of its alternatives have the same three fields.
    let scored = |v: &Value| TopLogprob {
        token: str_field(v, "token").unwrap_or_default(),
        logprob: v
            .get("logprob")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NEG_INFINITY),
        bytes: v.get("bytes").and_then(Value::as_array).map(|b| {
            b.iter()
                .filter_map(|x| x.as_u64().and_then(|x| u8::try_from(x).ok()))
                .collect()
        }),
    };
    let Some(content) = l.get("content").and_then(Value::as_array) else {
        return completions_logprobs(l, &scored);
    };
    Some(
        content
            .iter()
            .map(|t| {
                let TopLogprob {
                    token,
                    logprob,
                    bytes,
                } = scored(t);
                TokenLogprob {
                    token,
                    logprob,
                    bytes,
                    top_logprobs: t
                        .get("top_logprobs")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(scored)
                        .collect(),
                }
            })
            .collect(),
    )
}

/// Reads a blocking chat-completions answer (OpenAI wire format).
///
/// # Errors
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when `body` is not a chat completion.
#[cfg(any(test, feature = "testing"))]
pub fn parse_chat_response(body: &str) -> Result<ChatResponse> {
    parse_response(body, Default::default(), None)
}

/// Groq's `executed_tools` (its browser search and page visits, run on its
/// side) as server tool calls, each with its position.
pub(crate) fn executed_tools(v: &Value) -> Vec<(usize, ServerToolCall)> {
    v.as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or_default();
            let index = t
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(i);
            let kind = format!("{} {}", s("name"), s("type"));
            let name = if kind.contains("search") {
                "web_search"
            } else if kind.contains("open") || kind.contains("visit") {
                "web_fetch"
            } else {
                s("name")
            };
            let sources = t
                .pointer("/search_results/results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(WebSource {
                        url: r.get("url")?.as_str()?.to_owned(),
                        title: r.get("title").and_then(Value::as_str).map(str::to_owned),
                    })
                })
                .collect();
            let call = ServerToolCall {
                id: index.to_string(),
                name: name.to_owned(),
                arguments: s("arguments").to_owned(),
                sources,
            };
            (index, call)
        })
        .collect()
}

//! Error answers as typed errors: HTTP statuses, error bodies, errors named
//! inside a body, and failed exchanges.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::chat::RateLimits;
use crate::error::{ApiError, Error, excerpt};

/// A failed exchange as a typed error: the HTTP client's timeout is
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout), anything else
/// [`ErrorKind::Connection`](crate::ErrorKind::Connection). The message
/// names the whole cause chain (a refused connection its URL), the client's
/// error is the source (without its URL when that holds the key).
pub(crate) fn connection_error(e: reqwest::Error, key: Option<&ApiKey>) -> Error {
    // The whole chain (reqwest, hyper-util, hyper, io), each cause once.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    for _ in 0..8 {
        let Some(c) = cause else { break };
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    let text = key.map(|k| k.redact(&text)).unwrap_or(text);
    let keyed_url = e
        .url()
        .zip(key)
        .is_some_and(|(u, k)| k.redact(u.as_str()) != u.as_str());
    let source = if keyed_url { e.without_url() } else { e };
    let e = &source;
    let err = if e.is_timeout() {
        Error::client_timeout(text)
    } else if e.is_connect() {
        let url = e
            .url()
            .map(|u| {
                key.map(|k| k.redact(u.as_str()))
                    .unwrap_or_else(|| u.to_string())
            })
            .unwrap_or_else(|| "the server".into());
        Error::connection(format!(
            "could not connect to {url}: is the server running and is the URL right? ({text})"
        ))
    } else {
        Error::connection(text)
    };
    err.with_source(source)
}

/// Reads the provider's error body: flat `{message, type, param, code}` (Cerebras)
/// or wrapped in `{"error": {…}}` (OpenAI, and errors inside a stream), the
/// first of `{"errors": […]}` (Cloudflare), or a `detail` (BFL).
pub(crate) fn api_error(status: u16, body: &str, key: Option<&ApiKey>) -> ApiError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    // `{"error": {…}}`, or the first of `{"errors": [{…}]}` (Cloudflare's).
    let obj =
        parsed.as_ref().map(
            |v| match (v.get("error"), v.get("errors").and_then(|e| e.get(0))) {
                (Some(e @ Value::Object(_)), _) | (_, Some(e @ Value::Object(_))) => e,
                _ => v,
            },
        );
    let field = |name: &str| {
        obj.and_then(|o| o.get(name)).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut message = field("message")
        .or_else(|| field("detail"))
        .unwrap_or_else(|| {
            if body.trim().is_empty() {
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("no message")
                    .to_owned()
            } else {
                excerpt(body, 300)
            }
        });
    if let Some(k) = key {
        message = k.redact(&message);
    }
    ApiError {
        status,
        message,
        kind: field("type"),
        code: field("code"),
        param: field("param"),
    }
}

/// The HTTP status an error reported inside a body stands for (an error event
/// in a stream, a failed response object, an error in a 200 answer): a
/// numeric `status_code` beside the error (Cerebras's), else the error's own
/// numeric `status_code`, `code` or `status`, else the body's, else the
/// status its name means in any provider's spelling (`rate_limit_exceeded`,
/// `rate_limit_error`, `RESOURCE_EXHAUSTED`, `overloaded_error`, …), else
/// `fallback`. The error may be flat or wrapped in `{"error": {…}}`.
pub(crate) fn error_status_in(error: &Value, fallback: u16) -> u16 {
    let inner = match error.get("error") {
        Some(e @ Value::Object(_)) => e,
        _ => error,
    };
    let numeric = [
        (error, "status_code"),
        (inner, "status_code"),
        (inner, "code"),
        (inner, "status"),
        (error, "code"),
        (error, "status"),
    ]
    .into_iter()
    .find_map(|(o, k)| {
        o.get(k)
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (400..600).contains(c))
    });
    if let Some(status) = numeric {
        return status;
    }
    ["code", "type", "status"]
        .iter()
        .filter_map(|k| inner.get(*k).and_then(Value::as_str))
        .find_map(status_of_error_name)
        .unwrap_or(fallback)
}

/// The error a successful answer's `body` reports instead of an answer
/// (typed by the status or name it carries; a server error when it names
/// none), for `model`.
pub(crate) fn error_in_answer(body: &str, model: &str, rate_limits: RateLimits) -> Error {
    let status = error_status_in_text(body, 500);
    status_error(status, body, model, rate_limits, None, None)
}

/// [`error_status_in`] of an error's JSON text; `fallback` when it is not
/// JSON.
pub(crate) fn error_status_in_text(text: &str, fallback: u16) -> u16 {
    serde_json::from_str::<Value>(text).map_or(fallback, |v| error_status_in(&v, fallback))
}

/// The HTTP status an error name stands for, across providers' spellings.
pub(super) fn status_of_error_name(name: &str) -> Option<u16> {
    let lower = name.to_ascii_lowercase();
    let has = |w: &str| lower.contains(w);
    Some(
        if has("rate_limit")
            || has("too_many_requests")
            || has("resource_exhausted")
            || has("quota")
        {
            429
        } else if has("overloaded") {
            529
        } else if has("unavailable") {
            503
        } else if has("deadline_exceeded") || has("timeout") {
            504
        } else if has("server_error") || lower == "internal" || lower == "api_error" {
            500
        } else if has("authentication") || has("invalid_api_key") || has("unauthenticated") {
            401
        } else if has("permission") {
            403
        } else if has("not_found") {
            404
        } else if has("too_large") {
            413
        } else if has("invalid_request") || has("invalid_argument") || has("failed_precondition") {
            400
        } else {
            return None;
        },
    )
}

/// Maps an error status (and its body) to the right [`Error`] variant.
pub(crate) fn status_error(
    status: u16,
    body: &str,
    model: &str,
    rate_limits: RateLimits,
    retry_after: Option<Duration>,
    key: Option<&ApiKey>,
) -> Error {
    let api = api_error(status, body, key);
    match status {
        400 | 404
            if api.code.as_deref() == Some("model_not_found")
                || (status == 404 && api.param.as_deref() == Some("model")) =>
        {
            Error::model_not_found(model, api)
        }
        429 => Error::rate_limited(api, retry_after, rate_limits),
        _ => Error::from_api(api),
    }
}

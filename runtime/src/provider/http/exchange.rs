//! What a client sent and received, for observers (recorders, logs), with
//! the key scrubbed out.

use serde_json::Value;

use super::*;

/// One HTTP exchange as it happened, for recorders.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Exchange {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL.
    pub url: String,
    /// The JSON request body, if any.
    pub request_body: Option<Value>,
    /// The HTTP status.
    pub status: u16,
    /// The response headers (lower-case names), in order.
    pub headers: Vec<(String, String)>,
    /// The raw response body (JSON, or SSE lines).
    pub body: String,
}

/// Sees every exchange a client makes (a [`Recorder`](crate) in the `testing`
/// feature writes them to files).
pub trait ExchangeObserver: Send + Sync {
    /// Called once per exchange, when its body has been read in full.
    fn on_exchange(&self, exchange: Exchange);
}

/// An exchange without the API key anywhere in it (URL, bodies, headers),
/// whatever the key looks like: observers (recorders, logs) never see it.
pub(crate) fn scrubbed(mut e: Exchange, key: Option<&ApiKey>) -> Exchange {
    let Some(key) = key else {
        return e;
    };
    fn scrub_value(v: &mut Value, key: &ApiKey) {
        match v {
            Value::String(s) if s.contains(key.key.as_str()) => *s = key.redact(s),
            Value::Array(a) => a.iter_mut().for_each(|v| scrub_value(v, key)),
            Value::Object(o) => o.values_mut().for_each(|v| scrub_value(v, key)),
            _ => {}
        }
    }
    e.url = key.redact(&e.url);
    e.body = key.redact(&e.body);
    for (_, v) in &mut e.headers {
        *v = key.redact(v);
    }
    if let Some(b) = &mut e.request_body {
        scrub_value(b, key);
    }
    e
}

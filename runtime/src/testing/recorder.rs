//! Writes every exchange of a live client in the recordings' format.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

use super::replay::{Cassette, Interaction, RecordedRequest, RecordedResponse};
use crate::provider::{Exchange, ExchangeObserver};

/// Records exchanges into one recording file, rewritten after each exchange.
/// Credentials are never written: request headers are not recorded at all,
/// the provider removes its own key from everything it shows an observer
/// (whatever the key looks like), and on top of that any value that looks like
/// an API key (`csk-…`, `sk-…`/`sk-ant-…`/`sk-proj-…`, Google's `AIza…`,
/// Groq's `gsk_…`, `Bearer …`) and any `key`/`api_key`/`token` query parameter
/// is replaced by `[redacted]`.
///
/// ```no_run
/// # fn demo() -> typecall::Result<()> {
/// use std::sync::Arc;
/// use typecall::testing::Recorder;
/// let recorder = Arc::new(Recorder::new("tests/recordings/my-agent/GenSync-Weather.json"));
/// let model = typecall::Cerebras::from_env()?.observe(recorder.clone()).model("gpt-oss-120b");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    cassette: Mutex<Cassette>,
    errors: Mutex<Vec<String>>,
}

impl Recorder {
    /// A recorder writing to `path` (its folder is created when needed).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cassette: Mutex::new(Cassette::default()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// How many exchanges were recorded.
    pub fn len(&self) -> usize {
        self.cassette
            .lock()
            .map(|c| c.interactions.len())
            .unwrap_or(0)
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Errors met while writing the file (the observer cannot return them).
    pub fn write_errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ExchangeObserver for Recorder {
    fn on_exchange(&self, e: Exchange) {
        let mut headers = std::collections::BTreeMap::new();
        for (k, v) in e.headers {
            if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            headers.entry(k).or_insert_with(Vec::new).push(redact(&v));
        }
        let interaction = Interaction {
            request: RecordedRequest {
                method: e.method,
                url: redact_query(&redact(&e.url)),
                body: e.request_body.map(redact_value),
            },
            response: RecordedResponse {
                status: e.status,
                headers,
                body: redact(&e.body),
            },
        };
        let result = self
            .cassette
            .lock()
            .map_err(|_| "recorder poisoned".to_owned())
            .and_then(|mut c| {
                c.interactions.push(interaction);
                let text = serde_json::to_string_pretty(&*c).map_err(|e| e.to_string())?;
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(&self.path, text)
                    .map_err(|e| format!("{}: {e}", self.path.display()))
            });
        if let Err(msg) = result
            && let Ok(mut errs) = self.errors.lock()
        {
            errs.push(msg);
        }
    }
}

fn redact_value(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(redact_value).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, redact_value(v))).collect())
        }
        other => other,
    }
}

/// Replaces key-like tokens: `csk-…`/`sk-…` followed by 16+ key characters, and
/// whatever follows `Bearer `.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let candidates = ["csk-", "sk-", "AIza", "gsk_", "xai-", "Bearer "];
        let next = candidates
            .iter()
            .filter_map(|c| rest.find(c).map(|i| (i, *c)))
            .min_by_key(|(i, _)| *i);
        let Some((i, prefix)) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + prefix.len()..).unwrap_or_default();
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            .unwrap_or(after.len());
        if prefix == "Bearer " || len >= 16 {
            out.push_str("[redacted]");
            rest = after.get(len..).unwrap_or_default();
        } else {
            out.push_str(prefix);
            rest = after;
        }
    }
    out
}

/// A URL whose credential-like query parameters (`key`, `api_key`,
/// `apikey`, `access_token`, `token`) have their values redacted.
fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((name, _))
                if matches!(
                    name.to_ascii_lowercase().as_str(),
                    "key" | "api_key" | "apikey" | "access_token" | "token"
                ) =>
            {
                format!("{name}=[redacted]")
            }
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::{redact, redact_query};

    #[test]
    fn credentials_in_query_strings_are_removed() {
        assert_eq!(
            redact_query("https://x/v1beta/models?key=abc&pageSize=10"),
            "https://x/v1beta/models?key=[redacted]&pageSize=10"
        );
        assert_eq!(redact("AIzaSyA1234567890abcdefghijk"), "[redacted]");
    }

    #[test]
    fn key_like_values_are_removed() {
        assert_eq!(
            redact("key csk-abcdefghijklmnop1234 end"),
            "key [redacted] end"
        );
        assert_eq!(redact("Bearer abc.def"), "[redacted]");
        assert_eq!(redact("ask-me and sk-short"), "ask-me and sk-short");
    }
}

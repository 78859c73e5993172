//! API keys: never shown, sent in a header.

use std::fmt;

/// An API key. Its `Debug` and `Display` never show it.
///
/// It travels in a header, never in a URL: `Authorization: Bearer …` by
/// default, or the header a provider names (`x-api-key`, `x-goog-api-key`).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub(super) key: String,
    /// The header it goes in; `None` for `Authorization: Bearer`.
    header: Option<&'static str>,
}

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            header: None,
        }
    }
    /// A key sent as the value of `header` instead of as a bearer token.
    pub(crate) fn in_header(key: impl Into<String>, header: &'static str) -> Self {
        Self {
            key: key.into(),
            header: Some(header),
        }
    }
    /// Replaces every occurrence of the key in `text`.
    pub(crate) fn redact(&self, text: &str) -> String {
        if self.key.len() < 4 {
            text.to_owned()
        } else {
            text.replace(&self.key, "[redacted]")
        }
    }
    /// Adds the key to a request, in its header.
    pub(super) fn authorize(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.header {
            None => rb.bearer_auth(&self.key),
            Some(name) => rb.header(name, &self.key),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

//! The shared HTTP client: one `reqwest` client, retries with exponential
//! backoff and jitter (honouring `Retry-After`, `retry-after-ms`,
//! `x-should-retry` and the rate-limit reset headers), timeouts, error mapping,
//! and API-key redaction.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::chat::RateLimits;
use crate::error::{ApiError, Error, Result, excerpt};

/// An API key. Its `Debug` and `Display` never show it.
///
/// It travels in a header, never in a URL: `Authorization: Bearer …` by
/// default, or the header a provider names (`x-api-key`, `x-goog-api-key`).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    key: String,
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
    fn authorize(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
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

/// When and how often to retry a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many times to retry (after the first attempt).
    pub max_retries: u32,
    /// The first backoff; it doubles on each retry.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The longest wait a `Retry-After` (or a rate-limit reset) may ask for;
    /// beyond it the error is returned at once, carrying the wait.
    pub max_wait: Duration,
    /// Whether a `POST` whose response headers did not arrive in time (or
    /// whose connection broke after the request was sent) is sent again. Off by
    /// default: the server may have done the work, and a second request would
    /// be billed twice. Requests that never reached the server (connection
    /// refused) are always retried.
    pub retry_unanswered_posts: bool,
}

impl Default for RetryPolicy {
    /// Two retries, backoff from 0.5 s to 8 s (as Cerebras's own SDK), waits of
    /// at most 60 s, unanswered `POST`s not sent again.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_wait: Duration::from_secs(60),
            retry_unanswered_posts: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
    /// Sets the number of retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Sets the first backoff and the longest one.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
    /// Sets the longest honoured wait.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }
    /// Sends a `POST` again when its answer did not arrive in time (see
    /// [`RetryPolicy::retry_unanswered_posts`]): only for requests that are
    /// safe to repeat.
    pub fn retry_unanswered_posts(mut self, yes: bool) -> Self {
        self.retry_unanswered_posts = yes;
        self
    }

    /// The backoff before retry number `attempt` (0-based), with jitter: between
    /// half and all of the exponential value. Cannot overflow, whatever the
    /// policy's durations.
    fn backoff_for(&self, attempt: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.max_backoff);
        let fraction = 0.5 + 0.5 * random_unit();
        Duration::try_from_secs_f64(capped.as_secs_f64() * fraction).unwrap_or(capped)
    }
}

/// How much a server may send before typecall stops reading, and how long a
/// stream may last. Every limit ends in [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) (or
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)) naming the setting to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most bytes of one response body, blocking or streamed (default
    /// 64 MiB). Read incrementally: memory stays near this limit.
    pub max_body_bytes: usize,
    /// The most bytes of one server-sent-event line or event (default 16 MiB).
    pub max_event_bytes: usize,
    /// The most tool calls in one answer (default 128).
    pub max_tool_calls: usize,
    /// The most content parts (blocks) of one answer, after adjacent text is
    /// merged (default 4096): text, thoughts, calls, media.
    pub max_parts: usize,
    /// The longest a streamed answer may last from its first byte to its end
    /// (default 30 minutes), whatever keep-alives the server sends; the
    /// provider's timeout bounds each silence between chunks.
    pub stream_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 << 20,
            max_event_bytes: 16 << 20,
            max_tool_calls: 128,
            max_parts: 4096,
            stream_deadline: Duration::from_secs(30 * 60),
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_body_bytes`].
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
    /// Sets [`Limits::max_event_bytes`].
    pub fn max_event_bytes(mut self, n: usize) -> Self {
        self.max_event_bytes = n;
        self
    }
    /// Sets [`Limits::max_tool_calls`].
    pub fn max_tool_calls(mut self, n: usize) -> Self {
        self.max_tool_calls = n;
        self
    }
    /// Sets [`Limits::max_parts`].
    pub fn max_parts(mut self, n: usize) -> Self {
        self.max_parts = n;
        self
    }
    /// Sets [`Limits::stream_deadline`].
    pub fn stream_deadline(mut self, d: Duration) -> Self {
        self.stream_deadline = d;
        self
    }
}

/// The error for a response that went past a limit.
/// An answer with more tool calls than `max` (`Limits::max_tool_calls`).
pub(crate) fn too_many_tool_calls(max: usize) -> Error {
    too_large("the tool calls of one answer", max, "max_tool_calls")
}

pub(crate) fn too_large(what: &str, limit: usize, setting: &'static str) -> Error {
    Error::limit_exceeded(what, u64::try_from(limit).unwrap_or(u64::MAX), setting)
}

fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random number (for jitter and multipart boundaries, not for secrets).
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

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

/// A request body, encoded once (retries send the same bytes).
pub(crate) struct Body {
    /// What goes on the wire.
    pub bytes: bytes::Bytes,
    /// The same as JSON, kept only for an observer.
    pub json: Option<Value>,
    /// Its `content-type`.
    pub content_type: String,
}

impl Body {
    /// Raw bytes of `content_type` (an upload); an observer sees them as a
    /// JSON string when they are text.
    pub fn raw(bytes: Vec<u8>, content_type: impl Into<String>) -> Self {
        let json = std::str::from_utf8(&bytes)
            .ok()
            .map(|t| Value::String(t.to_owned()));
        Self {
            bytes: bytes::Bytes::from(bytes),
            json,
            content_type: content_type.into(),
        }
    }
}

/// A response whose status was a success. Its headers stay where reqwest
/// keeps them: read in place, copied only for an observer.
pub(crate) struct Response {
    pub status: u16,
    pub inner: reqwest::Response,
}

impl Response {
    /// A header's value (`name` in lower case), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }
    /// The rate limits the headers report.
    pub fn rate_limits(&self) -> RateLimits {
        rate_limits_of(self.inner.headers())
    }
    /// The headers as owned (lower-case name, value) pairs, for observers.
    pub fn owned_headers(&self) -> Vec<(String, String)> {
        owned(self.inner.headers())
    }
}

fn rate_limits_of(headers: &reqwest::header::HeaderMap) -> RateLimits {
    RateLimits::from_headers(
        headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
    )
}

fn owned(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn rate_limits(headers: &[(String, String)]) -> RateLimits {
    RateLimits::from_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A provider's client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    pub client: reqwest::Client,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub limits: Limits,
    pub observer: Option<Arc<dyn ExchangeObserver>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("limits", &self.limits)
            .finish()
    }
}

/// The client a provider gets unless the user hands it one: its own (not one
/// shared by the whole process, whose connections would be tied to whichever
/// tokio runtime used them first).
fn default_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

/// Largest error body read for its message.
const MAX_ERROR_BODY: usize = 64 << 10;

impl HttpClient {
    pub fn new() -> Result<Self> {
        Ok(Self::with_client(default_client()?))
    }

    /// A client sending through `client`, with the default retry policy,
    /// timeout (120 s) and limits, and no observer.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(120),
            limits: Limits::default(),
            observer: None,
        }
    }

    /// Encodes a request body for [`HttpClient::send`]: its bytes, and its
    /// JSON only when an observer will see the exchange.
    pub fn body(&self, value: &impl serde::Serialize) -> Result<Body> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::config(format!("cannot encode the request: {e}")))?;
        let json = match &self.observer {
            Some(_) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::config(format!("cannot encode the request: {e}")))?,
            ),
            None => None,
        };
        Ok(Body {
            bytes: bytes::Bytes::from(bytes),
            json,
            content_type: "application/json".into(),
        })
    }

    /// Sends a request, retrying as the policy says, until a success status
    /// (returned with its body unread) or an error.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        key: Option<&ApiKey>,
        headers: &[(String, String)],
        request: Option<&Body>,
        model: &str,
    ) -> Result<Response> {
        let bytes = request.map(|b| (b.bytes.clone(), b.content_type.clone()));
        let body = request.and_then(|b| b.json.as_ref());
        let mut attempt = 0u32;
        let mut fresh_tries = 0u32;
        loop {
            let mut rb = self.client.request(method.clone(), url);
            if let Some(k) = key {
                rb = k.authorize(rb);
            }
            for (k, v) in headers {
                rb = rb.header(k, v);
            }
            if let Some((b, content_type)) = &bytes {
                rb = rb
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(b.clone());
            }
            let outcome = tokio::time::timeout(self.timeout, rb.send()).await;
            let retries_left = attempt < self.retry.max_retries;
            // A request that may have reached the server is sent again only
            // when that cannot bill twice: not a POST, or the user opted in.
            let may_repeat = method != reqwest::Method::POST || self.retry.retry_unanswered_posts;
            let resp = match outcome {
                Err(_) => {
                    if retries_left && may_repeat {
                        tokio::time::sleep(self.retry.backoff_for(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::timeout(self.timeout));
                }
                Ok(Err(e)) if never_sent(&e) && fresh_tries < MAX_FRESH_TRIES => {
                    // A kept-alive connection the server had closed before
                    // the request was written: it provably never left, so it
                    // goes again on another connection, at once and whatever
                    // the retry policy, POST or not.
                    fresh_tries += 1;
                    tracing::debug!(
                        url,
                        "a pooled connection was closed unanswered; sending again"
                    );
                    continue;
                }
                Ok(Err(e)) => {
                    let unsent = e.is_connect();
                    if retries_left
                        && (unsent || (may_repeat && (e.is_timeout() || e.is_request())))
                    {
                        tokio::time::sleep(self.retry.backoff_for(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(connection_error(e, key));
                }
                Ok(Ok(resp)) => resp,
            };
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(Response {
                    status,
                    inner: resp,
                });
            }
            // The cold path: an error status, its headers read as owned pairs.
            let resp_headers = owned(resp.headers());
            let wait = retry_wait(status, &resp_headers);
            let should = match header(&resp_headers, "x-should-retry") {
                Some("true") => true,
                Some("false") => false,
                _ => matches!(status, 408 | 409 | 429) || status >= 500,
            };
            if should && retries_left && wait.is_none_or(|w| w <= self.retry.max_wait) {
                drop(resp);
                tokio::time::sleep(wait.unwrap_or_else(|| self.retry.backoff_for(attempt))).await;
                attempt += 1;
                continue;
            }
            // The error body, for its message: bounded, and within the timeout.
            let text = tokio::time::timeout(self.timeout, read_capped(resp, MAX_ERROR_BODY))
                .await
                .ok()
                .and_then(|r| r.ok())
                .map(|(body, _)| String::from_utf8_lossy(&body).into_owned())
                .unwrap_or_default();
            self.observe(&method, url, body, status, &resp_headers, &text, key);
            return Err(status_error(
                status,
                &text,
                model,
                rate_limits(&resp_headers),
                wait,
                key,
            ));
        }
    }

    /// Reads a whole answer's body (within the timeout, and at most
    /// [`Limits::max_body_bytes`], incrementally) and shows the exchange to the
    /// observer.
    pub async fn read_text(
        &self,
        method: &reqwest::Method,
        url: &str,
        request: Option<&Body>,
        resp: Response,
        key: Option<&ApiKey>,
    ) -> Result<String> {
        let body = request.and_then(|b| b.json.as_ref());
        let limit = self.limits.max_body_bytes;
        let seen_headers = self.observer.as_ref().map(|_| resp.owned_headers());
        let (bytes, complete) = tokio::time::timeout(self.timeout, read_capped(resp.inner, limit))
            .await
            .map_err(|_| Error::timeout(self.timeout))?
            .map_err(|e| connection_error(e, key))?;
        if !complete {
            return Err(too_large("the response body", limit, "max_body_bytes"));
        }
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        if let Some(headers) = seen_headers {
            self.observe(method, url, body, resp.status, &headers, &text, key);
        }
        Ok(text)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &self,
        method: &reqwest::Method,
        url: &str,
        body: Option<&Value>,
        status: u16,
        headers: &[(String, String)],
        text: &str,
        key: Option<&ApiKey>,
    ) {
        if let Some(o) = &self.observer {
            o.on_exchange(scrubbed(
                Exchange {
                    method: method.to_string(),
                    url: url.to_owned(),
                    request_body: body.cloned(),
                    status,
                    headers: headers.to_vec(),
                    body: text.to_owned(),
                },
                key,
            ));
        }
    }
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

/// Reads a body until it ends or passes `limit` bytes: the bytes, and whether
/// the body was complete. A `content-length` above the limit is refused before
/// reading anything.
async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
) -> reqwest::Result<(Vec<u8>, bool)> {
    let announced = resp.content_length().unwrap_or(0);
    if usize::try_from(announced).map_or(true, |n| n > limit) {
        return Ok((Vec::new(), false));
    }
    let mut out = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await? {
        if out.len().saturating_add(chunk.len()) > limit {
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

/// How long the server asked to wait before retrying, if it said: in
/// milliseconds, seconds or as an HTTP date, read fallibly (absurd values
/// saturate; the caller compares them with the policy's `max_wait`).
pub(crate) fn retry_wait(status: u16, headers: &[(String, String)]) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(crate::wire_numbers::parse_millis)
    {
        return Some(ms);
    }
    if let Some(wait) = header(headers, "retry-after")
        .and_then(|v| crate::wire_numbers::parse_retry_after(v, std::time::SystemTime::now()))
    {
        return Some(wait);
    }
    if status == 429 {
        return rate_limits(headers).exhausted_reset();
    }
    None
}

/// How often a request that never left is sent again on another
/// connection.
const MAX_FRESH_TRIES: u32 = 2;

/// Whether the request provably never left: hyper found the pooled
/// connection closed before writing it (a request that was written and then
/// met a closed connection may have been done, and is not sent again here).
fn never_sent(e: &reqwest::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    for _ in 0..8 {
        let Some(c) = cause else { return false };
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            return h.is_canceled();
        }
        cause = c.source();
    }
    false
}

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
/// or wrapped in `{"error": {…}}` (OpenAI, and errors inside a stream).
pub(crate) fn api_error(status: u16, body: &str, key: Option<&ApiKey>) -> ApiError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let obj = parsed.as_ref().map(|v| match v.get("error") {
        Some(e @ Value::Object(_)) => e,
        _ => v,
    });
    let field = |name: &str| {
        obj.and_then(|o| o.get(name)).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut message = field("message").unwrap_or_else(|| {
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
/// numeric `status_code`, `code` or `status` when there is one, else the
/// status its name means in any provider's spelling (`rate_limit_exceeded`,
/// `rate_limit_error`, `RESOURCE_EXHAUSTED`, `overloaded_error`, …), else
/// `fallback`. The error may be flat or wrapped in `{"error": {…}}`.
pub(crate) fn error_status_in(error: &Value, fallback: u16) -> u16 {
    let inner = match error.get("error") {
        Some(e @ Value::Object(_)) => e,
        _ => error,
    };
    let fields = ["status_code", "code", "status"];
    let numeric = [inner, error].into_iter().find_map(|o| {
        fields.iter().find_map(|k| {
            o.get(*k)
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| (400..600).contains(c))
        })
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

/// The HTTP status an error name stands for, across providers' spellings.
fn status_of_error_name(name: &str) -> Option<u16> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn the_key_never_shows() {
        let k = ApiKey::new("csk-secret-1234");
        assert_eq!(format!("{k:?} {k}"), "ApiKey([redacted]) [redacted]");
        assert_eq!(k.redact("bad key csk-secret-1234!"), "bad key [redacted]!");
    }

    #[test]
    fn errors_map_to_actionable_variants() {
        let body = r#"{"message":"Wrong API Key","type":"invalid_request_error","param":"api_key","code":"wrong_api_key"}"#;
        assert!({
            let e = status_error(401, body, "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::Auth
                && e.api_error().and_then(|a| a.code.as_deref()) == Some("wrong_api_key")
        });
        let body = r#"{"message":"Model x does not exist","type":"not_found_error","param":"model","code":"model_not_found"}"#;
        assert!({
            let e = status_error(404, body, "x", RateLimits::default(), None, None);
            e.kind() == ErrorKind::ModelNotFound && e.model() == Some("x")
        });
        let wrapped = r#"{"error":{"message":"boom","type":"server_error"}}"#;
        assert!({
            let e = status_error(503, wrapped, "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::Server && e.api_error().is_some_and(|a| a.message == "boom")
        });
        assert!({
            let e = status_error(400, "", "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::BadRequest
                && e.api_error().is_some_and(|a| a.message == "Bad Request")
        });
    }

    #[test]
    fn waits_come_from_the_headers() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            retry_wait(429, &h("retry-after-ms", "250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_wait(503, &h("retry-after", "2")),
            Some(Duration::from_secs(2))
        );
        let limits = vec![
            (
                "x-ratelimit-remaining-tokens-minute".to_owned(),
                "0".to_owned(),
            ),
            (
                "x-ratelimit-reset-tokens-minute".to_owned(),
                "1.5".to_owned(),
            ),
        ];
        assert_eq!(retry_wait(429, &limits), Some(Duration::from_millis(1500)));
        assert_eq!(retry_wait(500, &[]), None);
        let p = RetryPolicy::default();
        for attempt in 0..6 {
            let b = p.backoff_for(attempt);
            assert!(b <= p.max_backoff && b >= p.initial_backoff / 2, "{b:?}");
        }
    }
}

//! The client a provider sends through: one request with its retries,
//! timeouts and the retry of a request that provably never left.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::chat::RateLimits;
use crate::error::{Error, Result};

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
        super::rate_limits::of_header_map(self.inner.headers())
    }
    /// The headers as owned (lower-case name, value) pairs, for observers.
    pub fn owned_headers(&self) -> Vec<(String, String)> {
        owned(self.inner.headers())
    }
}

pub(super) fn owned(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
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

pub(super) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A provider's client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    /// The `reqwest` client, or why the default one could not be built (kept
    /// with its source, returned by every request and by the providers'
    /// `build()`).
    pub client: std::result::Result<reqwest::Client, Arc<Error>>,
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
pub(super) fn default_client() -> Result<reqwest::Client> {
    tls_client_builder()?
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")).with_source(e))
}

/// A `reqwest` client builder whose TLS is rustls with the ring provider and
/// the platform's certificate verifier, set on this client only (nothing is
/// installed process-wide).
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when TLS cannot be set up
/// (no usable certificate store).
pub(crate) fn tls_client_builder() -> Result<reqwest::ClientBuilder> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS: {e}")).with_source(e))?;
    let tls = rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier(tls)
        .map_err(|e| Error::config(format!("TLS certificates: {e}")).with_source(e))?
        .with_no_client_auth();
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
}

/// Largest error body read for its message.
pub(super) const MAX_ERROR_BODY: usize = 64 << 10;

impl HttpClient {
    /// A client with the default `reqwest` client, or, when that cannot be
    /// built, the reason (settings still apply once a client is handed in).
    pub fn new() -> Self {
        Self::with(default_client().map_err(Arc::new))
    }

    /// The `reqwest` client, or why there is none.
    pub fn reqwest(&self) -> Result<&reqwest::Client> {
        self.client.as_ref().map_err(|e| {
            let message = e
                .config_message()
                .map_or_else(|| e.to_string(), str::to_owned);
            Error::config(message).with_source(Arc::clone(e))
        })
    }

    /// A client sending through `client` (or failing with why there is
    /// none), with the default retry policy, timeout (120 s) and limits, and
    /// no observer.
    fn with(client: std::result::Result<reqwest::Client, Arc<Error>>) -> Self {
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
            let mut rb = self.reqwest()?.request(method.clone(), url);
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
                super::rate_limits::of_pairs(&resp_headers),
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
        let bytes = self.read_bytes(method, url, request, resp, key).await?;
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// As [`HttpClient::read_text`], the body as bytes (an image); the
    /// observer sees it as text, bytes that are not UTF-8 replaced.
    pub async fn read_bytes(
        &self,
        method: &reqwest::Method,
        url: &str,
        request: Option<&Body>,
        resp: Response,
        key: Option<&ApiKey>,
    ) -> Result<Vec<u8>> {
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
        if let Some(headers) = seen_headers {
            let text = String::from_utf8_lossy(&bytes);
            self.observe(method, url, body, resp.status, &headers, &text, key);
        }
        Ok(bytes)
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

/// How often a request that never left is sent again on another
/// connection.
pub(super) const MAX_FRESH_TRIES: u32 = 2;

/// Whether the request provably never left: hyper found the pooled
/// connection closed before writing it (a request that was written and then
/// met a closed connection may have been done, and is not sent again here).
pub(super) fn never_sent(e: &reqwest::Error) -> bool {
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

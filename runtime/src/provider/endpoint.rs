//! What every provider client holds: where it sends, with which key and
//! headers, through which HTTP client; and the builder methods users set them
//! with, written once for all providers ([`endpoint_builders!`]).

use serde_json::Value;

use super::http::{ApiKey, Body, HttpClient, Response};
use super::protocol::AnswerHead;
use super::{ChatStream, Limits, ModelInfo, streaming};
use crate::chat::ChatResponse;
use crate::error::{Error, Result};

/// A chat request sent and answered with a success status, its body unread:
/// read it whole ([`Sent::text`]) or as a stream ([`Sent::stream`]).
pub(crate) struct Sent<'a> {
    pub http: HttpClient,
    pub url: String,
    pub body: Body,
    pub resp: Response,
    /// The key, to redact from what is read (cloned only for a stream).
    pub key: Option<&'a ApiKey>,
    /// The header the provider names its inference by, if any.
    pub inference_id_header: Option<&'static str>,
}

impl Sent<'_> {
    /// The whole answer's text, within the client's timeout and limits (the
    /// observer sees the exchange).
    pub async fn text(self) -> Result<String> {
        self.http
            .read_text(
                &reqwest::Method::POST,
                &self.url,
                Some(&self.body),
                self.resp,
                self.key,
            )
            .await
    }

    /// The whole answer, read by `parse` (given its text and the client's
    /// limits), with the rate limits its headers gave (and the server's
    /// inference id, where one is given); the span's usage fields record it.
    pub async fn read(
        self,
        parse: impl FnOnce(&str, &Limits, &AnswerHead) -> Result<ChatResponse>,
    ) -> Result<ChatResponse> {
        let head = self.head();
        let limits = self.http.limits.clone();
        let text = self.text().await?;
        let mut response = parse(&text, &limits, &head)?;
        response.rate_limits = head.rate_limits;
        response.usage.inference_id = head.inference_id;
        super::record_usage(&response);
        Ok(response)
    }

    /// What the answer's head told.
    pub fn head(&self) -> AnswerHead {
        AnswerHead {
            status: self.resp.status,
            rate_limits: self.resp.rate_limits(),
            inference_id: self
                .inference_id_header
                .and_then(|h| self.resp.header(h))
                .map(str::to_owned),
        }
    }

    /// The answer's events, read by `decoder`; `on_done` sees the final
    /// answer (for the span's usage fields).
    pub fn stream(self, decoder: impl streaming::Decode, on_done: fn(&ChatResponse)) -> ChatStream {
        streaming::event_stream(
            &self.http,
            self.url,
            self.body,
            self.resp,
            decoder,
            self.key.cloned(),
            on_done,
        )
    }
}

/// A provider's base URL, key, extra headers and HTTP client.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// The provider's name, for spans (`gen_ai.system`).
    pub provider: &'static str,
    /// Without a trailing `/`.
    pub base_url: String,
    pub key: Option<ApiKey>,
    pub headers: Vec<(String, String)>,
    pub http: HttpClient,
    /// The path and query after the base URL that list the models.
    pub models_path: &'static str,
    /// The provider's own reading of its error answers (a bad key sent as a
    /// 400, an unknown model), given the model asked for.
    pub typed_error: fn(Error, &str) -> Error,
    /// The header the provider names each inference by, apart from the
    /// answer's id (Cerebras's `inference-id`), read into
    /// [`Usage::inference_id`](crate::chat::Usage::inference_id).
    pub inference_id_header: Option<&'static str>,
}

impl Endpoint {
    /// An endpoint with the default HTTP client.
    pub fn new(provider: &'static str, base_url: &str, key: Option<ApiKey>) -> Self {
        Self {
            provider,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
            headers: Vec::new(),
            http: HttpClient::new(),
            models_path: "/models",
            typed_error: super::client::as_is,
            inference_id_header: None,
        }
    }

    /// The key in environment variable `var` (trimmed), or a configuration
    /// error that says where to get one (`how`).
    pub fn key_from_env(var: &str, how: &str) -> Result<String> {
        std::env::var(var)
            .ok()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::config(format!("{var} is not set: {how}")))
    }

    /// The base URL in environment variable `var`, if set and not blank.
    pub fn url_from_env(var: &str) -> Option<String> {
        std::env::var(var)
            .ok()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
    }

    /// Sends a chat request as JSON (with `extra_headers` besides the
    /// client's, for this request only), retried as the policy says; a
    /// success status comes back with its body unread.
    pub async fn post(
        &self,
        url: String,
        body: &impl serde::Serialize,
        model: &str,
        extra_headers: &[(String, String)],
    ) -> Result<Sent<'_>> {
        let http = self.http()?.clone();
        let body = http.body(body)?;
        let headers: std::borrow::Cow<'_, [(String, String)]> = if extra_headers.is_empty() {
            std::borrow::Cow::Borrowed(&self.headers)
        } else {
            std::borrow::Cow::Owned([self.headers.as_slice(), extra_headers].concat())
        };
        let resp = http
            .send(
                reqwest::Method::POST,
                &url,
                self.key.as_ref(),
                &headers,
                Some(&body),
                model,
            )
            .await?;
        Ok(Sent {
            http,
            url,
            body,
            resp,
            key: self.key.as_ref(),
            inference_id_header: self.inference_id_header,
        })
    }

    /// The HTTP client, or the configuration error that kept it from being built.
    pub fn http(&self) -> Result<&HttpClient> {
        self.http.reqwest()?;
        Ok(&self.http)
    }

    /// Changes the HTTP client's settings (kept even while there is no
    /// `reqwest` client: they apply to the one handed in later).
    pub fn edit_http(&mut self, f: impl FnOnce(&mut HttpClient)) {
        f(&mut self.http);
    }

    /// The models listed at `url` (`{"data": [{"id": …}, …]}`, or a bare
    /// list of such objects or of names: Pollinations').
    pub async fn list_models(&self, url: &str) -> Result<Vec<ModelInfo>> {
        let v = self
            .call_json(reqwest::Method::GET, url, None, &[], "a model list")
            .await?;
        let list = v
            .get("data")
            .or_else(|| v.get("models"))
            .or(Some(&v))
            .and_then(Value::as_array)
            .ok_or_else(|| Error::protocol("a model list (no `data`)", &v.to_string()))?;
        Ok(list
            .iter()
            .filter_map(|m| {
                let id = match m {
                    Value::String(name) => name,
                    _ => m
                        .get("id")
                        .or_else(|| m.get("model"))
                        .or_else(|| m.get("name"))?
                        .as_str()?,
                }
                .to_owned();
                Some(ModelInfo {
                    id,
                    owned_by: m.get("owned_by").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect())
    }

    /// Sends one request (retried as the policy says) and reads the whole
    /// answer: its headers (lower-case names) and body text.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&super::http::Body>,
        extra_headers: &[(String, String)],
    ) -> Result<(Vec<(String, String)>, String)> {
        let http = self.http()?;
        let mut headers = self.headers.clone();
        headers.extend(extra_headers.iter().cloned());
        let resp = http
            .send(method.clone(), url, self.key.as_ref(), &headers, body, "")
            .await?;
        let seen = resp.owned_headers();
        let text = http
            .read_text(&method, url, body, resp, self.key.as_ref())
            .await?;
        Ok((seen, text))
    }

    /// As [`Endpoint::call`], the answer read as JSON (an empty answer is an
    /// empty object); `what` names what was expected, for the error.
    pub async fn call_json(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&super::http::Body>,
        extra_headers: &[(String, String)],
        what: &str,
    ) -> Result<Value> {
        let (_, text) = self.call(method, url, body, extra_headers).await?;
        if text.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(&text).map_err(|_| Error::protocol(what.to_owned(), &text))
    }

    /// `GET url` (retried as the policy says), the answer as JSON.
    pub async fn get_json(&self, url: &str) -> Result<Value> {
        self.call_json(reqwest::Method::GET, url, None, &[], "a JSON answer")
            .await
    }

    /// `DELETE url` (retried as the policy says); the answer is not read
    /// beyond its status.
    pub async fn delete(&self, url: &str) -> Result<()> {
        self.call_json(reqwest::Method::DELETE, url, None, &[], "a JSON answer")
            .await
            .map(drop)
    }

    /// Sends through the user's `reqwest` client.
    pub fn use_client(&mut self, client: reqwest::Client) {
        self.http.client = Ok(client);
    }
}

/// The builder methods every provider client has, for a type with
/// `fn edit(self, f: impl FnOnce(&mut Endpoint)) -> Self`.
macro_rules! endpoint_builders {
    () => {
        /// Sends this header with every request.
        pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
            let h = (name.into(), value.into());
            self.edit(|e| e.headers.push(h))
        }

        /// Replaces the base URL (a local replay server, a proxy).
        pub fn base_url(self, url: impl Into<String>) -> Self {
            let url = url.into().trim_end_matches('/').to_owned();
            self.edit(|e| e.base_url = url)
        }

        /// Sets the retry policy.
        pub fn retry(self, policy: $crate::provider::RetryPolicy) -> Self {
            self.edit(|e| e.edit_http(|h| h.retry = policy))
        }

        /// Sets the per-request timeout (for a stream: until the answer starts,
        /// and then the longest silence between two chunks).
        pub fn timeout(self, d: ::std::time::Duration) -> Self {
            self.edit(|e| e.edit_http(|h| h.timeout = d))
        }

        /// Sets how much a server may send and how long a stream may last (see
        /// [`Limits`](crate::provider::Limits); the defaults suit hosted APIs
        /// and local servers alike).
        pub fn limits(self, limits: $crate::provider::Limits) -> Self {
            self.edit(|e| e.edit_http(|h| h.limits = limits))
        }

        /// Sends requests through this `reqwest` client (proxies, TLS roots,
        /// middleware, a shared connection pool). By default each provider
        /// builds its own. The retry policy, timeout and limits still apply.
        pub fn http_client(self, client: reqwest::Client) -> Self {
            self.edit(|e| e.use_client(client))
        }

        /// The client, or the error that keeps it from sending: the HTTP
        /// client could not be built (TLS could not be set up: no usable
        /// certificate store). Without this check the same error comes
        /// from the first request.
        ///
        /// # Errors
        /// [`ErrorKind::Config`](crate::ErrorKind::Config), with the cause as
        /// its `source()`.
        pub fn build(self) -> $crate::Result<Self> {
            let mut failed = None;
            let this = self.edit(|e| failed = e.http().err());
            match failed {
                Some(e) => Err(e),
                None => Ok(this),
            }
        }

        /// Shows every exchange to `observer` (a recorder).
        pub fn observe(
            self,
            observer: ::std::sync::Arc<dyn $crate::provider::ExchangeObserver>,
        ) -> Self {
            self.edit(|e| e.edit_http(|h| h.observer = Some(observer)))
        }
    };
}
pub(crate) use endpoint_builders;

//! Black Forest Labs' FLUX image models: a job submitted (`POST /v1/{model}`
//! with the prompt), its result polled (the `polling_url` the answer names,
//! `x-key` sent only to BFL's own hosts) until ready, within a deadline, and
//! the image fetched (never with the key): an answer whose
//! [`media`](crate::chat::ChatResponse::media) is the image. Streamed, the
//! job's progress comes as [`StreamEvent::Progress`] events before the end.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::endpoint::{Endpoint, endpoint_builders};
use super::http::ApiKey;
use super::{BoxFuture, ChatStream, Model};
use crate::chat::{ChatRequest, ChatResponse, Media, StreamEvent};
use crate::error::{ApiError, Error, ErrorKind, Result};

const BASE_URL: &str = "https://api.bfl.ai/v1";
const KEY_VAR: &str = "BFL_API_KEY";
const URL_VAR: &str = "BFL_BASE_URL";

/// A client for Black Forest Labs' API. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use typecall::Model;
/// use typecall::chat::{ChatRequest, MediaOutput, Message};
/// use typecall::provider::Bfl;
/// let flux = Bfl::from_env()?.model("flux-dev");
/// let request = ChatRequest::new(vec![Message::user("A shiba inu eating ice cream.")])
///     .media_output(MediaOutput::image());
/// for image in flux.chat(&request).await?.media {
///     image.save(format!("shiba.{}", image.extension()))?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bfl {
    endpoint: Arc<Endpoint>,
    poll_every: Duration,
    deadline: Duration,
}

impl std::fmt::Debug for Bfl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bfl")
            .field("base_url", &self.endpoint.base_url)
            .field("key", &self.endpoint.key)
            .field("poll_every", &self.poll_every)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Bfl {
    /// A client for `https://api.bfl.ai/v1` with this key (sent as `x-key`).
    pub fn new(api_key: impl Into<String>) -> Self {
        let mut endpoint =
            Endpoint::new("bfl", BASE_URL, Some(ApiKey::in_header(api_key, "x-key")));
        endpoint.typed_error = typed_error;
        Self {
            endpoint: Arc::new(endpoint),
            poll_every: Duration::from_millis(500),
            deadline: Duration::from_secs(300),
        }
    }

    /// A client with the key from `BFL_API_KEY` (and the base URL from
    /// `BFL_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the key is not set.
    pub fn from_env() -> Result<Self> {
        let key =
            Endpoint::key_from_env(KEY_VAR, "create a key at dashboard.bfl.ai and export it")?;
        let mut c = Self::new(key);
        if let Some(url) = Endpoint::url_from_env(URL_VAR) {
            c = c.base_url(url);
        }
        Ok(c)
    }

    fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        f(Arc::make_mut(&mut self.endpoint));
        self
    }

    endpoint_builders!();

    /// How long to wait between two looks at a job (default 500 ms).
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.poll_every = every;
        self
    }

    /// How long a job may take, from its submission to its image (default 5
    /// minutes): past it, the call ends with [`ErrorKind::Timeout`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// A model (`flux-dev`, `flux-2-pro`, `flux-2-max`, …).
    pub fn model(&self, name: impl Into<String>) -> BflModel {
        BflModel {
            client: self.clone(),
            name: name.into(),
            capabilities: super::image_model::capabilities(),
            extra: Vec::new(),
        }
    }
}

/// BFL's errors as typed errors: an unknown model (404 `Not Found`) is
/// [`ErrorKind::ModelNotFound`].
fn typed_error(e: Error, model: &str) -> Error {
    match e.api_error() {
        Some(api) if e.kind() == ErrorKind::BadRequest && api.status == 404 => {
            e.into_model_not_found(model)
        }
        _ => e,
    }
}

/// A FLUX model of a [`Bfl`] client.
#[derive(Debug, Clone)]
pub struct BflModel {
    client: Bfl,
    name: String,
    capabilities: Capabilities,
    extra: Vec<(String, Value)>,
}

impl BflModel {
    /// Adds a field to every request (`width`, `height`, `aspect_ratio`,
    /// `output_format`, `safety_tolerance`, …: BFL's options typecall has
    /// no setter for). `prompt` and `seed` are typecall's own.
    pub fn extra_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        self.extra.retain(|(k, _)| *k != name);
        self.extra.push((name, value.into()));
        self
    }

    /// Declares what the model supports.
    pub fn with_capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = caps;
        self
    }

    /// The JSON body this model would submit for `request`.
    ///
    /// # Errors
    /// As [`Model::chat`] before sending: a request with no prompt, or one
    /// asking for what FLUX does not do.
    pub fn request_body(&self, request: &ChatRequest) -> Result<Value> {
        let prompt = super::image_model::prompt(&self.name, &self.capabilities, request)?;
        let mut body = Map::new();
        body.insert("prompt".into(), Value::String(prompt));
        if let Some(seed) = request.seed {
            body.insert("seed".into(), seed.into());
        }
        for (k, v) in &self.extra {
            if k != "prompt" && k != "seed" {
                body.insert(k.clone(), v.clone());
            }
        }
        Ok(Value::Object(body))
    }

    /// Runs the job: submits it, polls it (each look shown to `progress`)
    /// until its image is ready or the deadline passes, fetches the image.
    async fn run(
        &self,
        request: &ChatRequest,
        progress: &mut (dyn FnMut(StreamEvent) + Send),
    ) -> Result<ChatResponse> {
        let body = self.request_body(request)?;
        let client = &self.client;
        let endpoint = &client.endpoint;
        let started = tokio::time::Instant::now();
        let submit = format!("{}/{}", endpoint.base_url, path_text(&self.name));
        let http = endpoint.http()?;
        let body = http.body(&body)?;
        let job = endpoint
            .call_json(
                reqwest::Method::POST,
                &submit,
                Some(&body),
                &[],
                "a FLUX job",
            )
            .await
            .map_err(|e| (endpoint.typed_error)(e, &self.name))?;
        let id = job
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::protocol("a FLUX job (no `id`)", &job.to_string()))?
            .to_owned();
        let poll_url = self.poll_url(&id, job.get("polling_url").and_then(Value::as_str))?;
        let sample = loop {
            let left = client.deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(Error::timeout(client.deadline));
            }
            let look = tokio::time::timeout(left, endpoint.get_json(&poll_url))
                .await
                .map_err(|_| Error::timeout(client.deadline))??;
            let (event, next) = read_look(&look);
            progress(event);
            match next {
                Look::Ready(sample) => break sample,
                Look::Failed(e) => return Err(e),
                Look::Pending => {}
            }
            let wait = client
                .poll_every
                .min(client.deadline.saturating_sub(started.elapsed()));
            tokio::time::sleep(wait).await;
        };
        let image = self.fetch(&sample).await?;
        Ok(ChatResponse {
            id,
            model: self.name.clone(),
            media: vec![image],
            ..ChatResponse::default()
        })
    }

    /// Where to look at job `id`: the `polling_url` BFL named, on one of its
    /// own hosts (the key goes there); at a base URL of the user's (a proxy,
    /// a replay), its path there; without one, `get_result?id=`.
    fn poll_url(&self, id: &str, named: Option<&str>) -> Result<String> {
        let base = &self.client.endpoint.base_url;
        let own = base == BASE_URL;
        match named.map(reqwest::Url::parse) {
            Some(Ok(url)) if own => {
                let bfl_host = url
                    .host_str()
                    .is_some_and(|h| h == "bfl.ai" || h.ends_with(".bfl.ai"));
                if url.scheme() == "https" && bfl_host {
                    Ok(url.to_string())
                } else {
                    Err(Error::protocol(
                        "a FLUX job's polling_url on a BFL host (the key goes only there)",
                        url.as_str(),
                    ))
                }
            }
            Some(Ok(url)) => Ok(at_base(base, &url)),
            _ => Ok(format!("{base}/get_result?id={}", path_text(id))),
        }
    }

    /// Fetches the image at `sample` (a signed URL: no key goes with it),
    /// within the body limit.
    async fn fetch(&self, sample: &str) -> Result<Media> {
        let endpoint = &self.client.endpoint;
        let url = match reqwest::Url::parse(sample) {
            Ok(u) if endpoint.base_url != BASE_URL => at_base(&endpoint.base_url, &u),
            Ok(u) if u.scheme() == "https" => u.to_string(),
            _ => return Err(Error::protocol("a FLUX image URL (https)", sample)),
        };
        let http = endpoint.http()?;
        let resp = http
            .send(reqwest::Method::GET, &url, None, &[], None, &self.name)
            .await?;
        let content_type = resp.header("content-type").map(str::to_owned);
        let bytes = http
            .read_bytes(&reqwest::Method::GET, &url, None, resp, None)
            .await?;
        let mut image = Media::from_bytes(&bytes);
        if image.media_type == "application/octet-stream"
            && let Some(t) = content_type.filter(|t| t.starts_with("image/"))
        {
            image.media_type = t;
        }
        if bytes.is_empty() {
            return Err(Error::protocol("a FLUX image (empty)", ""));
        }
        Ok(image)
    }
}

/// What a look at a job says to do next.
enum Look {
    /// Look again.
    Pending,
    /// The image is at this URL.
    Ready(String),
    /// The job ended without an image.
    Failed(Error),
}

/// Reads one look at a job: the progress event it makes, and what comes
/// next. Pending, Queued, Processing, Task not found (just submitted) and
/// statuses not known yet are looked at again (the deadline bounds it).
fn read_look(look: &Value) -> (StreamEvent, Look) {
    let status = look
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let event = StreamEvent::Progress {
        status: status.clone(),
        fraction: look
            .get("progress")
            .and_then(Value::as_f64)
            .filter(|f| f.is_finite())
            .map(|f| f.clamp(0.0, 1.0)),
    };
    let next = match status.as_str() {
        "Ready" => match look.pointer("/result/sample").and_then(Value::as_str) {
            Some(url) => Look::Ready(url.to_owned()),
            None => Look::Failed(Error::protocol(
                "a ready FLUX job (no `result.sample`)",
                &look.to_string(),
            )),
        },
        "Request Moderated" | "Content Moderated" => Look::Failed(Error::blocked(
            status,
            look.get("details").map(Value::to_string),
        )),
        "Error" | "Failed" => Look::Failed(Error::from_api(ApiError {
            status: 500,
            message: format!(
                "the FLUX job failed: {}",
                look.get("details").unwrap_or(&Value::Null)
            ),
            kind: Some(status),
            code: None,
            param: None,
        })),
        _ => Look::Pending,
    };
    (event, next)
}

/// `url`'s path and query at `base`'s host (a proxy or a replay stands in
/// for every host BFL names).
fn at_base(base: &str, url: &reqwest::Url) -> String {
    let base_host = match reqwest::Url::parse(base) {
        Ok(b) => {
            let port = b.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}",
                b.scheme(),
                b.host_str().unwrap_or_default()
            )
        }
        Err(_) => base.to_owned(),
    };
    match url.query() {
        Some(q) => format!("{base_host}{}?{q}", url.path()),
        None => format!("{base_host}{}", url.path()),
    }
}

/// `text` as one URL path segment (or query value).
fn path_text(text: &str) -> String {
    super::writing::percent_encoded(text, b"")
}

impl Model for BflModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span("bfl", &self.name, false);
        Box::pin(async move { self.run(request, &mut |_| {}).await }.instrument(span))
    }

    /// The job's looks as [`StreamEvent::Progress`], then the answer. Dropping
    /// the stream stops the job's polling.
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        Box::pin(async move {
            // Refused before anything runs, as a blocking call would be.
            self.request_body(request)?;
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<StreamEvent>>(16);
            let model = self.clone();
            let request = request.clone();
            let job = tokio::spawn(async move {
                let progress_tx = tx.clone();
                let mut progress = move |e: StreamEvent| {
                    // A full channel (a slow reader) drops a look, never the end.
                    let _ = progress_tx.try_send(Ok(e));
                };
                let end = model
                    .run(&request, &mut progress)
                    .await
                    .map(|r| StreamEvent::Done(Box::new(r)));
                let _ = tx.send(end).await;
            });
            let guard = AbortOnDrop(job);
            let events = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
                rx.recv().await.map(|e| (e, (rx, guard)))
            });
            Ok(events.boxed())
        })
    }
}

/// Stops the job's task when the stream is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::{Look, read_look};
    use crate::chat::StreamEvent;
    use crate::fuzzing::*;

    fn look() -> impl Strategy<Value = String> {
        prop_oneof![
            (
                prop_oneof![
                    Just("Pending"),
                    Just("Ready"),
                    Just("Error"),
                    Just("Content Moderated"),
                    Just("Task not found"),
                    Just("?")
                ],
                prop_oneof![
                    Just("0.5"),
                    Just("1e400"),
                    Just("-3"),
                    Just("null"),
                    Just("\"x\"")
                ],
                prop_oneof![
                    Just(r#"{"sample":"https://x.bfl.ai/s.jpg"}"#),
                    Just("null"),
                    Just(r#"{"sample":7}"#)
                ],
            )
                .prop_map(|(s, p, r)| format!(
                    r#"{{"id":"j","status":"{s}","progress":{p},"result":{r},"details":{{"a":1}}}}"#
                )),
            jsonish(),
        ]
    }

    #[test]
    fn fuzz_bfl_looks() {
        fuzz("bfl_looks", 2000, look(), |text| {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                return Ok(());
            };
            let (event, next) = read_look(&v);
            let StreamEvent::Progress { fraction, .. } = event else {
                return Err(TestCaseError::fail("not a progress event"));
            };
            prop_assert!(fraction.is_none_or(|f| (0.0..=1.0).contains(&f)));
            if let Look::Ready(url) = next {
                prop_assert_eq!(v["result"]["sample"].as_str(), Some(url.as_str()));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{MediaOutput, Message};

    #[test]
    fn the_prompt_is_the_users_text_and_the_key_goes_only_to_bfl() {
        let m = Bfl::new("k").model("flux-dev").extra_field("width", 256);
        let req = ChatRequest::new(vec![
            Message::system("Doodle style."),
            Message::user("A shiba."),
        ])
        .seed(42)
        .media_output(MediaOutput::image());
        let body = m.request_body(&req).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"prompt": "Doodle style.\n\nA shiba.", "seed": 42, "width": 256})
        );
        let speak = req.clone().media_output(MediaOutput::speech("mp3"));
        assert_eq!(
            m.request_body(&speak).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let silent = ChatRequest::new(vec![Message::user(" ")]);
        assert_eq!(
            m.request_body(&silent).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let tools = req.tool(crate::tool::ToolDef::new("f", "", serde_json::json!({})));
        assert_eq!(
            m.request_body(&tools).unwrap_err().kind(),
            ErrorKind::Unsupported
        );

        assert_eq!(
            m.poll_url("j", Some("https://api.eu4.bfl.ai/v1/get_result?id=j"))
                .unwrap(),
            "https://api.eu4.bfl.ai/v1/get_result?id=j"
        );
        for elsewhere in [
            "https://evil.example/get_result?id=j",
            "http://api.bfl.ai/x",
        ] {
            assert!(m.poll_url("j", Some(elsewhere)).is_err(), "{elsewhere}");
        }
        assert_eq!(
            m.poll_url("a b", None).unwrap(),
            format!("{BASE_URL}/get_result?id=a%20b")
        );
        let proxied = Bfl::new("k")
            .base_url("http://127.0.0.1:9/v1")
            .model("flux-dev");
        assert_eq!(
            proxied
                .poll_url("j", Some("https://api.eu4.bfl.ai/v1/get_result?id=j"))
                .unwrap(),
            "http://127.0.0.1:9/v1/get_result?id=j"
        );
        assert!(!format!("{:?}", Bfl::new("secret-key-1234")).contains("secret-key-1234"));
    }
}

//! Pollinations' image models (`flux`, `turbo`, …): `GET
//! https://image.pollinations.ai/prompt/{prompt}?model=…&seed=…`, the image
//! as the answer's body, read into [`ChatResponse::media`]. (Its text
//! models are an OpenAI-compatible vendor: [`Vendor::Pollinations`](super::Vendor::Pollinations).)

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;
use tracing::Instrument;

use super::capabilities::Capabilities;
use super::endpoint::{Endpoint, endpoint_builders};
use super::http::ApiKey;
use super::{BoxFuture, ChatStream, Model};
use crate::chat::{ChatRequest, ChatResponse, Media, StreamEvent};
use crate::error::{Error, Result};

const BASE_URL: &str = "https://image.pollinations.ai";

/// A client for Pollinations' image API (no key needed; a token, if you
/// have one, goes as `Authorization: Bearer`). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use typecall::Model;
/// use typecall::chat::{ChatRequest, MediaOutput, Message};
/// use typecall::provider::PollinationsImages;
/// let flux = PollinationsImages::new().model("flux");
/// let request = ChatRequest::new(vec![Message::user("A shiba inu eating ice cream.")])
///     .media_output(MediaOutput::image());
/// for image in flux.chat(&request).await?.media {
///     image.save(format!("shiba.{}", image.extension()))?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PollinationsImages {
    endpoint: Arc<Endpoint>,
}

impl std::fmt::Debug for PollinationsImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollinationsImages")
            .field("base_url", &self.endpoint.base_url)
            .field("key", &self.endpoint.key)
            .finish()
    }
}

impl Default for PollinationsImages {
    fn default() -> Self {
        Self::new()
    }
}

impl PollinationsImages {
    /// A client for `https://image.pollinations.ai`, without a token.
    pub fn new() -> Self {
        Self {
            endpoint: Arc::new(Endpoint::new("pollinations", BASE_URL, None)),
        }
    }

    /// The same client sending this token.
    pub fn api_key(self, token: impl Into<String>) -> Self {
        let key = ApiKey::new(token);
        self.edit(|e| e.key = Some(key))
    }

    fn edit(mut self, f: impl FnOnce(&mut Endpoint)) -> Self {
        f(Arc::make_mut(&mut self.endpoint));
        self
    }

    endpoint_builders!();

    /// An image model (`flux`, `turbo`, `kontext`, `gptimage`).
    pub fn model(&self, name: impl Into<String>) -> PollinationsImageModel {
        PollinationsImageModel {
            client: self.clone(),
            name: name.into(),
            capabilities: super::image_model::capabilities(),
            options: Vec::new(),
        }
    }
}

/// An image model of [`PollinationsImages`].
#[derive(Debug, Clone)]
pub struct PollinationsImageModel {
    client: PollinationsImages,
    name: String,
    capabilities: Capabilities,
    options: Vec<(String, String)>,
}

impl PollinationsImageModel {
    /// Adds a query option to every request (`width`, `height`, `nologo`,
    /// `private`, `enhance`, `safe`, `quality`, …). `model`, `seed` and the
    /// prompt are typecall's own.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        let value = match value.into() {
            Value::String(s) => s,
            other => other.to_string(),
        };
        self.options.retain(|(k, _)| *k != name);
        self.options.push((name, value));
        self
    }

    /// The URL this model would fetch for `request`.
    ///
    /// # Errors
    /// As [`Model::chat`] before sending: a request with no prompt, or one
    /// asking for what the image models do not do.
    pub fn request_url(&self, request: &ChatRequest) -> Result<String> {
        let prompt = super::image_model::prompt(&self.name, &self.capabilities, request)?;
        let mut query: Vec<(String, String)> = vec![("model".into(), self.name.clone())];
        if let Some(seed) = request.seed {
            query.push(("seed".into(), seed.to_string()));
        }
        query.extend(
            self.options
                .iter()
                .filter(|(k, _)| k != "model" && k != "seed")
                .cloned(),
        );
        query.sort();
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect();
        Ok(format!(
            "{}/prompt/{}?{}",
            self.client.endpoint.base_url,
            prompt_segment(&prompt),
            query.join("&")
        ))
    }

    async fn draw(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let url = self.request_url(request)?;
        let endpoint = &self.client.endpoint;
        let http = endpoint.http()?;
        let resp = http
            .send(
                reqwest::Method::GET,
                &url,
                endpoint.key.as_ref(),
                &endpoint.headers,
                None,
                &self.name,
            )
            .await?;
        let content_type = resp.header("content-type").map(str::to_owned);
        let rate_limits = resp.rate_limits();
        let bytes = http
            .read_bytes(
                &reqwest::Method::GET,
                &url,
                None,
                resp,
                endpoint.key.as_ref(),
            )
            .await?;
        let mut image = Media::from_bytes(&bytes);
        if image.media_type == "application/octet-stream" {
            match content_type.filter(|t| t.starts_with("image/")) {
                Some(t) => image.media_type = t,
                None => {
                    let text = String::from_utf8_lossy(&bytes);
                    return Err(Error::protocol("an image", &text));
                }
            }
        }
        Ok(ChatResponse {
            model: self.name.clone(),
            media: vec![image],
            rate_limits,
            ..ChatResponse::default()
        })
    }
}

/// The prompt as one path segment, as Pollinations was recorded answering
/// it: form-encoded (`+` for spaces, `%XX` for the rest), then its `%`
/// escaped again (`%2C` → `%252C`).
fn prompt_segment(prompt: &str) -> String {
    query_escape(prompt).replace('%', "%25")
}

/// `text` form-encoded: unreserved bytes as they are, spaces as `+`, every
/// other byte as `%XX`.
fn query_escape(text: &str) -> String {
    super::writing::percent_encoded(text, b" ").replace(' ', "+")
}

impl Model for PollinationsImageModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        let span = super::chat_span("pollinations", &self.name, false);
        Box::pin(self.draw(request).instrument(span))
    }

    /// The image in one piece: the answer as the only event.
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        Box::pin(async move {
            let answer = self.draw(request).await?;
            let done: Result<StreamEvent> = Ok(StreamEvent::Done(Box::new(answer)));
            Ok(futures_util::stream::iter([done]).boxed())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{MediaOutput, Message};

    #[test]
    fn the_prompt_is_escaped_as_pollinations_was_recorded_answering() {
        assert_eq!(
            prompt_segment("A shiba, eating (ice-cream)*:\n"),
            "A+shiba%252C+eating+%2528ice-cream%2529%252A%253A%250A"
        );
        let m = PollinationsImages::new()
            .model("flux")
            .option("width", 256)
            .option("nologo", true);
        let req = ChatRequest::new(vec![Message::user("a cat")])
            .seed(42)
            .media_output(MediaOutput::image());
        assert_eq!(
            m.request_url(&req).unwrap(),
            "https://image.pollinations.ai/prompt/a+cat?model=flux&nologo=true&seed=42&width=256"
        );
        let e = m
            .request_url(&req.clone().media_output(MediaOutput::speech("mp3")))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        assert!(
            m.request_url(&ChatRequest::new(vec![Message::user("")]))
                .is_err()
        );
        assert!(
            !format!("{:?}", PollinationsImages::new().api_key("tok-123456"))
                .contains("tok-123456")
        );
    }
}

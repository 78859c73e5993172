//! Cerebras: base URL, key from `CEREBRAS_API_KEY`, the version-patch header,
//! the model list and capability table, and its quirks.

use std::fmt;

use super::encode::WireConfig;
use crate::chat::{ChatRequest, ChatResponse, ResponseFormat};
use crate::error::{ErrorKind, Result};
use crate::provider::capabilities::{Capabilities, Support, Thinking};
use crate::provider::endpoint::{Endpoint, endpoint_builders};
use crate::provider::openai_compat::{ModelInfo, OpenAiCompat, OpenAiCompatModel};
use crate::provider::{BoxFuture, ChatStream, Model, replay_as_stream};

/// The default Cerebras API base URL.
pub const CEREBRAS_BASE_URL: &str = "https://api.cerebras.ai/v1";

/// The Cerebras inference API.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Cerebras, Model, chat::{ChatRequest, Message}};
/// let cerebras = Cerebras::from_env()?;                 // CEREBRAS_API_KEY
/// let model = cerebras.model("gpt-oss-120b");
/// let answer = model.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{} ({} tokens)", answer.text(), answer.usage.total_tokens);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cerebras {
    client: OpenAiCompat,
}

impl fmt::Debug for Cerebras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cerebras")
            .field("client", &self.client)
            .finish()
    }
}

impl Cerebras {
    /// A client with this API key, at the default base URL.
    pub fn new(api_key: impl Into<String>) -> Self {
        let client = OpenAiCompat::with_parts(
            "cerebras",
            CEREBRAS_BASE_URL.to_owned(),
            None,
            WireConfig {
                stream_options: false,
                // Cerebras's recorded conversations do not send reasoning
                // back, and it needs none.
                reasoning_field: None,
                ..WireConfig::OPENAI
            },
            std::sync::Arc::new(capabilities_for),
        )
        .api_key(api_key)
        .header("X-Cerebras-Version-Patch", "2")
        .edit(|e| e.inference_id_header = Some("inference-id"));
        Self { client }
    }

    /// A client with the key from `CEREBRAS_API_KEY` (and the base URL from
    /// `CEREBRAS_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the key is not set.
    pub fn from_env() -> Result<Self> {
        let mut c = Self::new(Endpoint::key_from_env(
            "CEREBRAS_API_KEY",
            "create a key at cloud.cerebras.ai and export it",
        )?);
        if let Some(url) = Endpoint::url_from_env("CEREBRAS_BASE_URL") {
            c = c.base_url(url);
        }
        Ok(c)
    }

    fn edit(self, f: impl FnOnce(&mut Endpoint)) -> Self {
        Self {
            client: self.client.edit(f),
        }
    }

    endpoint_builders!();

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// A model, with the capabilities the table knows for it (unknown models:
    /// everything is tried). See [`Cerebras::list_models`] for what is served today.
    pub fn model(&self, name: impl Into<String>) -> CerebrasModel {
        CerebrasModel {
            inner: self.client.model(name),
            blocking_fallback: true,
        }
    }

    /// The models Cerebras serves now (`GET /v1/models`): the catalog changes,
    /// so read it at run time.
    ///
    /// # Errors
    /// The provider's error ([`ErrorKind::Auth`](crate::ErrorKind::Auth) for a bad key).
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.client.list_models().await
    }

    /// The models served now, each with its capabilities (from the table, or
    /// unknown for a model the table does not know yet).
    ///
    /// # Errors
    /// As [`Cerebras::list_models`].
    pub async fn models(&self) -> Result<Vec<(ModelInfo, Capabilities)>> {
        Ok(self
            .list_models()
            .await?
            .into_iter()
            .map(|m| {
                let c = capabilities_for(&m.id);
                (m, c)
            })
            .collect())
    }
}

/// A Cerebras model.
#[derive(Debug, Clone)]
pub struct CerebrasModel {
    inner: OpenAiCompatModel,
    blocking_fallback: bool,
}

impl CerebrasModel {
    /// Declares what the model supports, replacing the table's defaults.
    pub fn with_capabilities(self, caps: Capabilities) -> Self {
        Self {
            inner: self.inner.with_capabilities(caps),
            ..self
        }
    }

    /// Whether a streamed request that Cerebras refuses for a reasoning model
    /// ("stream=true with structured outputs is currently not supported for
    /// reasoning models") is made again blocking and replayed as a stream. On by
    /// default.
    pub fn blocking_fallback(self, yes: bool) -> Self {
        Self {
            blocking_fallback: yes,
            ..self
        }
    }

    /// The JSON body this model would send for `request`.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> serde_json::Value {
        self.inner.request_body(request, stream)
    }

    async fn stream_with_fallback(&self, request: &ChatRequest) -> Result<ChatStream> {
        let structured =
            !request.tools.is_empty() || !matches!(request.response_format, ResponseFormat::Text);
        let known_unsupported =
            structured && self.inner.capabilities().structured_streaming == Support::No;
        if self.blocking_fallback && known_unsupported {
            return self.replay_blocking(request).await;
        }
        match crate::provider::client::stream(&self.inner, request).await {
            Err(e)
                if self.blocking_fallback
                    && structured
                    && e.kind() == ErrorKind::BadRequest
                    && e.api_error().is_some_and(|a| is_stream_refusal(&a.message)) =>
            {
                tracing::debug!(
                    model = self.inner.name(),
                    "streaming refused for structured output; answering blocking"
                );
                self.replay_blocking(request).await
            }
            other => other,
        }
    }

    async fn replay_blocking(&self, request: &ChatRequest) -> Result<ChatStream> {
        Ok(replay_as_stream(
            crate::provider::client::chat(&self.inner, request).await?,
        ))
    }
}

fn is_stream_refusal(message: &str) -> bool {
    message.contains("stream=true") && message.contains("not supported")
}

impl Model for CerebrasModel {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn chat<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse>> {
        self.inner.chat(request)
    }
    fn stream<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream>> {
        Box::pin(self.stream_with_fallback(request))
    }
}

/// The capability table: the facts of the public Cerebras scoreboard and the
/// recorded exchanges, kept as defaults per model name.
pub(crate) fn capabilities_for(model: &str) -> Capabilities {
    // What every model of the scoreboard shares.
    let scoreboard = Capabilities {
        images: Support::Unknown,
        pdf: Support::No,
        audio: Support::No,
        video: Support::No,
        citations: Support::No,
        web_search: Support::No,
        web_fetch: Support::No,
        tools_with_response_format: Support::No,
        grammar: Support::No,
        ..Capabilities::all()
    };
    match model {
        "llama3.1-8b"
        | "llama-4-scout-17b-16e-instruct"
        | "llama-4-maverick-17b-128e-instruct"
        | "qwen-3-235b-a22b-instruct-2507" => scoreboard,
        "llama-3.3-70b" => Capabilities {
            tools: Support::Flaky,
            ..scoreboard
        },
        "qwen-3-coder-480b" => Capabilities {
            tools: Support::Flaky,
            tool_choice_required: Support::Flaky,
            ..scoreboard
        },
        "qwen-3-32b" => Capabilities {
            thinking: Thinking::OnRequest,
            structured_streaming: Support::Flaky,
            ..scoreboard
        },
        "qwen-3-235b-a22b-thinking-2507" => Capabilities {
            thinking: Thinking::Always,
            structured_streaming: Support::Flaky,
            ..scoreboard
        },
        "gpt-oss-120b" => Capabilities {
            thinking: Thinking::Always,
            tools: Support::Flaky,
            stop: Support::Flaky,
            reasoning_effort: Support::Yes,
            ..scoreboard
        },
        "gemma-4-31b" => Capabilities {
            images: Support::Yes,
            tools_with_response_format: Support::Unknown,
            ..scoreboard
        },
        "zai-glm-4.7" => Capabilities {
            thinking: Thinking::Always,
            grammar: Support::No,
            ..Capabilities::unknown()
        },
        _ => Capabilities::unknown(),
    }
}

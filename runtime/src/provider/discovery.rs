//! What kind of OpenAI-compatible server a client talks to, asked once per
//! client: each kind says so cheaply. `GET /v1/models` names the owner of its
//! models (`llamacpp`, `vllm`, Ollama's `library`, LM Studio's
//! `organization_owner`), and llama.cpp's `GET /props` names what the loaded
//! model takes in (`modalities`).

use std::time::Duration;

use serde_json::Value;

use super::capabilities::{Capabilities, Support};
use super::endpoint::Endpoint;
use super::openai_compat::ModelInfo;

/// How long finding out may take before the client goes on without it.
const DISCOVERY_TIME: Duration = Duration::from_secs(5);

/// A kind of OpenAI-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerKind {
    /// llama.cpp's `llama-server` (and the `xllamacpp` wheel).
    LlamaCpp,
    /// vLLM.
    Vllm,
    /// Ollama's OpenAI-compatible `/v1`.
    Ollama,
    /// LM Studio.
    LmStudio,
}

impl ServerKind {
    /// The kind a model list shows, by its models' owner.
    pub(crate) fn of(models: &[ModelInfo]) -> Option<Self> {
        models.iter().find_map(|m| match m.owned_by.as_deref()? {
            "llamacpp" => Some(Self::LlamaCpp),
            "vllm" => Some(Self::Vllm),
            "library" | "ollama" => Some(Self::Ollama),
            "organization_owner" => Some(Self::LmStudio),
            _ => None,
        })
    }

    /// Whether the server answers whatever model name a request gives.
    pub(crate) fn ignores_model_names(self) -> bool {
        self == Self::LlamaCpp
    }
}

/// What was found out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Discovered {
    pub(crate) kind: ServerKind,
    pub(crate) capabilities: Capabilities,
    pub(crate) models: Vec<String>,
}

/// What a server of this kind supports, refined by what it says of itself
/// (`props`: llama.cpp's `/props`).
pub(crate) fn capabilities(kind: ServerKind, props: Option<&Value>) -> Capabilities {
    let mut c = match kind {
        ServerKind::LlamaCpp => Capabilities::llama_cpp(),
        // Each compiles a JSON Schema into a grammar; their native tool
        // calling depends on the model and how the server was started.
        ServerKind::Vllm | ServerKind::Ollama | ServerKind::LmStudio => {
            let mut c = Capabilities::unknown();
            c.json_schema = Support::Yes;
            c.grammar = Support::Yes;
            c
        }
    };
    if let Some(modalities) = props.and_then(|p| p.get("modalities")) {
        let said = |k: &str| match modalities.get(k).and_then(Value::as_bool) {
            Some(true) => Support::Yes,
            Some(false) => Support::No,
            None => Support::Unknown,
        };
        c.images = said("vision");
        c.audio = said("audio");
        c.video = said("video");
    }
    c
}

/// Asks the server at `endpoint` what it is (within a few seconds; `None`
/// when it does not say, or is not there).
pub(crate) async fn discover(endpoint: &Endpoint) -> Option<Discovered> {
    // One try each, not recorded: a question about the server, not a call.
    let mut endpoint = endpoint.clone();
    endpoint.edit_http(|h| {
        h.retry = super::http::RetryPolicy::none();
        h.observer = None;
    });
    let endpoint = &endpoint;
    let base = endpoint.base_url.trim_end_matches('/');
    let ask = async {
        let models = endpoint.list_models(&format!("{base}/models")).await.ok()?;
        let kind = ServerKind::of(&models)?;
        let props = if kind == ServerKind::LlamaCpp {
            let root = base.strip_suffix("/v1").unwrap_or(base);
            endpoint
                .call_json(
                    reqwest::Method::GET,
                    &format!("{root}/props"),
                    None,
                    &[],
                    "llama.cpp's /props",
                )
                .await
                .ok()
        } else {
            None
        };
        Some(Discovered {
            kind,
            capabilities: capabilities(kind, props.as_ref()),
            models: models.into_iter().map(|m| m.id).collect(),
        })
    };
    let found = tokio::time::timeout(DISCOVERY_TIME, ask)
        .await
        .ok()
        .flatten();
    match &found {
        Some(d) => tracing::info!(
            target: "typecall::provider",
            server = ?d.kind,
            url = %endpoint.base_url,
            "server kind found"
        ),
        None => tracing::debug!(
            target: "typecall::provider",
            url = %endpoint.base_url,
            "the server did not say what it is; using the capability table"
        ),
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn owned(by: &str) -> Vec<ModelInfo> {
        vec![ModelInfo {
            id: "m".into(),
            owned_by: Some(by.into()),
        }]
    }

    #[test]
    fn the_owner_of_the_models_names_the_server() {
        assert_eq!(
            ServerKind::of(&owned("llamacpp")),
            Some(ServerKind::LlamaCpp)
        );
        assert_eq!(ServerKind::of(&owned("vllm")), Some(ServerKind::Vllm));
        assert_eq!(ServerKind::of(&owned("library")), Some(ServerKind::Ollama));
        assert_eq!(ServerKind::of(&owned("openai")), None);
    }

    #[test]
    fn llama_cpp_says_what_its_model_takes_in() {
        let props = json!({"modalities": {"vision": false, "audio": true}});
        let c = capabilities(ServerKind::LlamaCpp, Some(&props));
        assert_eq!(c.audio, Support::Yes);
        assert_eq!(c.images, Support::No);
        assert_eq!(c.video, Support::Unknown);
        assert_eq!(c.grammar, Support::Yes);
        assert_eq!(c.tools, Support::Flaky);
    }
}

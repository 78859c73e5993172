//! Ollama's own API (`POST /api/chat`, NDJSON streams): text, thinking
//! (`think`), tools (never forced: it has no `tool_choice`), JSON mode and
//! schemas (`format`), seeds, token limits and stop sequences (`options`),
//! log probabilities, images as base64. Ollama's OpenAI-compatible endpoint
//! is spoken too: [`OpenAiCompat::new("http://localhost:11434/v1")`](crate::OpenAiCompat),
//! which finds out it is Ollama by asking.

mod read;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel};
use super::endpoint::Endpoint;
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, ErrorKind, Result};

const BASE_URL: &str = "http://localhost:11434";

/// A client for a local (or remote) Ollama server. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Model, chat::{ChatRequest, Message}};
/// use typecall::provider::Ollama;
/// let gemma = Ollama::from_env().model("gemma4:e2b").think(false);
/// let answer = gemma.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
pub type Ollama = ProtocolClient<OllamaChatApi>;

/// A model of an [`Ollama`] client.
pub type OllamaModel = ProtocolModel<OllamaChatApi>;

/// Ollama's `/api/chat`, as a model's settings: its thinking switch (unset:
/// the model's own default).
#[derive(Debug, Clone, Default)]
pub struct OllamaChatApi {
    think: Option<bool>,
}

/// An unknown model (`model 'x' not found`, 404) is
/// [`ErrorKind::ModelNotFound`].
fn typed_error(e: Error, model: &str) -> Error {
    match e.api_error() {
        Some(api) if e.kind() == ErrorKind::BadRequest && api.status == 404 => {
            e.into_model_not_found(model)
        }
        _ => e,
    }
}

impl Ollama {
    /// A client for the server at `base_url` (`http://localhost:11434`).
    pub fn new(base_url: impl AsRef<str>) -> Self {
        let mut endpoint = Endpoint::new("ollama", base_url.as_ref(), None);
        endpoint.typed_error = typed_error;
        endpoint.models_path = "/api/tags";
        Self::from_parts(endpoint, ())
    }

    /// A client for the server `OLLAMA_HOST` names (`127.0.0.1:11434` or a
    /// URL), else `http://localhost:11434`.
    pub fn from_env() -> Self {
        match Endpoint::url_from_env("OLLAMA_HOST") {
            Some(h) if h.contains("://") => Self::new(h),
            Some(h) => Self::new(format!("http://{h}")),
            None => Self::new(BASE_URL),
        }
    }

    /// The same client sending this key (a server behind a proxy that wants
    /// one; Ollama itself takes none).
    pub fn api_key(self, key: impl Into<String>) -> Self {
        let key = ApiKey::new(key);
        self.edit(|e| e.key = Some(key))
    }

    /// A model (`gemma4:e2b`, `qwen3.5:2b`, …).
    pub fn model(&self, name: impl Into<String>) -> OllamaModel {
        self.model_with(name.into(), capabilities(), OllamaChatApi::default())
    }
}

/// What `/api/chat` takes (each model may refuse some: tools or images
/// where its template or weights have none).
fn capabilities() -> Capabilities {
    let mut c = Capabilities::unknown();
    for s in [
        &mut c.json_mode,
        &mut c.json_schema,
        &mut c.grammar,
        &mut c.seed,
        &mut c.max_tokens,
        &mut c.stop,
        &mut c.logprobs,
    ] {
        *s = Support::Yes;
    }
    for s in [
        &mut c.tool_choice_required,
        &mut c.pdf,
        &mut c.audio,
        &mut c.video,
        &mut c.citations,
        &mut c.web_search,
        &mut c.web_fetch,
        &mut c.reasoning_effort,
        &mut c.speech_output,
        &mut c.image_output,
    ] {
        *s = Support::No;
    }
    c
}

impl OllamaModel {
    /// Turns thinking on or off (`think`); its thoughts come back in
    /// [`ChatResponse::reasoning`].
    pub fn think(mut self, on: bool) -> Self {
        self.settings.think = Some(on);
        self.capabilities.thinking = if on {
            Thinking::Always
        } else {
            Thinking::Never
        };
        self
    }

    /// The JSON body this model would send for `request`.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for what `/api/chat` cannot carry.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Result<serde_json::Value> {
        let body = write::request_body(&self.name, request, stream, self.settings.think)?;
        Ok(serde_json::to_value(body).unwrap_or_default())
    }
}

impl Protocol for OllamaChatApi {
    type Decoder = read::Decoder;
    type Client = ();
    type Body<'a> = write::Request<'a>;

    fn path(&self, _model: &str, _stream: bool) -> String {
        "/api/chat".into()
    }

    fn body<'a>(
        &'a self,
        model: &'a str,
        _client: &'a (),
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<write::Request<'a>> {
        write::request_body(model, request, stream, self.think)
    }

    fn read(
        &self,
        text: &str,
        model: &str,
        _request: &ChatRequest,
        _limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_response(text, model)
    }

    fn decoder(
        &self,
        model: &str,
        _request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> read::Decoder {
        read::Decoder::new(head.status, model.to_owned(), key, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ContentPart, Message, ToolCall, ToolChoice};
    use crate::provider::client::read_whole_stream;
    use serde_json::json;

    #[test]
    fn requests_are_written_in_ollamas_form() {
        let call = ToolCall::new("c1", "square_root", r#"{"number": 4}"#);
        let req = ChatRequest::new(vec![
            Message::user("Root of 4?"),
            Message::user_parts(vec![ContentPart::media_bytes("image/png", b"\x89PNG")]),
            Message::assistant_tool_calls(vec![call.clone()]),
            Message::tool_result(&call, "2"),
        ])
        .tool(crate::tool::ToolDef::new(
            "square_root",
            "Root.",
            json!({"type": "object"}),
        ))
        .seed(1)
        .max_tokens(9)
        .stop(["is"])
        .logprobs(2);
        let m = Ollama::new(BASE_URL).model("gemma4:e2b").think(false);
        let body = m.request_body(&req, true).unwrap();
        assert_eq!(body["think"], false);
        assert_eq!(body["stream"], true);
        assert_eq!(
            body["messages"][1],
            json!({"role": "user", "images": ["iVBORw=="]})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "square_root", "arguments": {"number": 4}}}]})
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "content": "2", "tool_call_id": "c1", "tool_name": "square_root"})
        );
        assert_eq!(
            body["options"],
            json!({"seed": 1, "num_predict": 9, "stop": ["is"]})
        );
        assert_eq!(
            (body["logprobs"].clone(), body["top_logprobs"].clone()),
            (json!(true), json!(2))
        );
        let forced = req.tool_choice(ToolChoice::Required);
        assert_eq!(
            m.request_body(&forced, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let by_url = ChatRequest::new(vec![Message::user_parts(vec![ContentPart::image_url(
            "https://example.com/a.png",
        )])]);
        assert_eq!(
            m.request_body(&by_url, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn answers_and_ndjson_streams_read_alike() {
        let blocking = read::parse_response(
            r#"{"model":"m","message":{"role":"assistant","content":"","thinking":"hm","tool_calls":[{"id":"c","function":{"name":"f","arguments":{"n":1}}}]},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":7}"#,
            "m",
        )
        .unwrap();
        assert_eq!(blocking.finish_reason, crate::chat::FinishReason::ToolCalls);
        assert_eq!(blocking.tool_calls[0].arguments, r#"{"n":1}"#);
        assert_eq!(
            (
                blocking.usage.prompt_tokens,
                blocking.usage.completion_tokens
            ),
            (5, 7)
        );
        assert_eq!(blocking.reasoning.as_deref(), Some("hm"));
        let stream = concat!(
            r#"{"model":"m","message":{"role":"assistant","content":"","thinking":"h"},"done":false}"#,
            "\n",
            r#"{"model":"m","message":{"role":"assistant","content":"","thinking":"m"},"done":false}"#,
            "\n",
            r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"id":"c","function":{"index":0,"name":"f","arguments":{"n":1}}}]},"done":false}"#,
            "\n",
            r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":7}"#,
            "\n",
        );
        let streamed = read_whole_stream(&OllamaChatApi::default(), stream.as_bytes()).unwrap();
        assert_eq!(
            (
                streamed.tool_calls.clone(),
                streamed.finish_reason.clone(),
                streamed.usage.total_tokens
            ),
            (
                blocking.tool_calls.clone(),
                blocking.finish_reason.clone(),
                12
            )
        );
        assert_eq!(streamed.reasoning.as_deref(), Some("hm"));
        // Cut before `done`: an error, not half an answer.
        let cut = stream.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(read_whole_stream(&OllamaChatApi::default(), cut.as_bytes()).is_err());
        let e = read::parse_response(r#"{"error":"model 'x' not found"}"#, "x").unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
    }
}

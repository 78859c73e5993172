//! Cloudflare Workers AI's own API (`POST /accounts/{account}/ai/run/{model}`,
//! `@cf/…` model names): text, tools (blocking; no `tool_choice`), JSON mode
//! and JSON Schemas, seeds and token limits; answers whose JSON may come as
//! an object, and no finish reason (worked out, see `read`).

mod read;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel, Provider};
use super::endpoint::Endpoint;
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use crate::chat::{ChatRequest, ChatResponse};
use crate::error::{Error, ErrorKind, Result};

static PROVIDER: Provider = Provider {
    name: "cloudflare",
    base_url: BASE_URL,
    key_header: None,
    models_path: "/models/search",
    headers: &[],
    key_var: "CLOUDFLARE_API_TOKEN",
    url_var: "CLOUDFLARE_BASE_URL",
    key_how: "create a Workers AI API token in the Cloudflare dashboard and export it",
    typed_error,
};

const BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// Workers AI's errors as typed errors: an unknown model ("No route for that
/// URI", code 7000) is [`ErrorKind::ModelNotFound`]; a 403 that refuses a
/// feature rather than the token (code 5023, "JSON Schema mode is not
/// supported with stream mode") is [`ErrorKind::BadRequest`].
fn typed_error(e: Error, model: &str) -> Error {
    let Some(api) = e.api_error() else {
        return e;
    };
    let code = api.code.clone().unwrap_or_default();
    if e.kind() == ErrorKind::BadRequest && (code == "7000" || api.status == 404) {
        e.into_model_not_found(model)
    } else if e.kind() == ErrorKind::Auth && api.status == 403 && !code.starts_with("100") {
        e.into_bad_request()
    } else {
        e
    }
}

/// A client for Cloudflare Workers AI. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Cloudflare, Model, chat::{ChatRequest, Message}};
/// let llama = Cloudflare::from_env()?.model("@cf/meta/llama-3.3-70b-instruct-fp8-fast");
/// let answer = llama.chat(&ChatRequest::new(vec![Message::user("Say hello.")])).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
pub type Cloudflare = ProtocolClient<WorkersAiApi>;

/// A Workers AI model of a [`Cloudflare`] client.
pub type CloudflareModel = ProtocolModel<WorkersAiApi>;

/// Workers AI's `ai/run`, as a model's settings (none of its own).
#[derive(Debug, Clone, Default)]
pub struct WorkersAiApi;

impl Cloudflare {
    /// A client for the account `account_id` with this API token (sent as
    /// `Authorization: Bearer`). [`Cloudflare::base_url`] replaces what
    /// comes before `/run/{model}` (`https://api.cloudflare.com/client/v4/accounts/{account_id}/ai`).
    pub fn new(account_id: impl AsRef<str>, api_token: impl Into<String>) -> Self {
        Self::with_key(&PROVIDER, api_token).base_url(account_url(BASE_URL, account_id.as_ref()))
    }

    /// A client with the token from `CLOUDFLARE_API_TOKEN`, the account from
    /// `CLOUDFLARE_ACCOUNT_ID` (and the API's base URL from
    /// `CLOUDFLARE_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the token or the account is not set.
    pub fn from_env() -> Result<Self> {
        let token = Endpoint::key_from_env(PROVIDER.key_var, PROVIDER.key_how)?;
        let account = Endpoint::key_from_env(
            "CLOUDFLARE_ACCOUNT_ID",
            "export your account's id (the dashboard's Workers AI page shows it)",
        )?;
        let base = Endpoint::url_from_env(PROVIDER.url_var).unwrap_or_else(|| BASE_URL.into());
        Ok(Self::with_key(&PROVIDER, token).base_url(account_url(&base, &account)))
    }

    /// A model (`@cf/meta/llama-3.3-70b-instruct-fp8-fast`, …).
    pub fn model(&self, name: impl Into<String>) -> CloudflareModel {
        let name = name.into();
        let caps = capabilities(&name);
        self.model_with(name, caps, WorkersAiApi)
    }
}

fn account_url(base: &str, account: &str) -> String {
    format!(
        "{}/accounts/{}/ai",
        base.trim_end_matches('/'),
        path_text(account)
    )
}

/// `text` for a URL path: `/`, `@` and `:` kept (model names are paths),
/// every other byte outside the unreserved set percent-encoded (`bad model`
/// → `bad%20model`).
fn path_text(text: &str) -> String {
    super::writing::percent_encoded(text, b"/@:")
}

/// What Workers AI's models take, as the recordings show: text only (no
/// media through these models), tools without `tool_choice` (so never
/// forced), JSON mode and schemas, seeds, token limits; stop sequences and
/// log probabilities are not part of its API (refused, never dropped).
fn capabilities(model: &str) -> Capabilities {
    let m = model.to_ascii_lowercase();
    let mut c = Capabilities::unknown();
    for s in [
        &mut c.json_mode,
        &mut c.json_schema,
        &mut c.tools,
        &mut c.seed,
        &mut c.max_tokens,
    ] {
        *s = Support::Yes;
    }
    for s in [
        &mut c.tool_choice_required,
        &mut c.stop,
        &mut c.logprobs,
        &mut c.images,
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
    if m.contains("r1") || m.contains("qwq") {
        // Reasoning models: `<think>` in the answer.
        c.thinking = Thinking::Always;
    }
    c
}

impl Protocol for WorkersAiApi {
    type Decoder = read::Decoder;
    type Client = ();
    type Body<'a> = write::Request<'a>;

    fn path(&self, model: &str, _stream: bool) -> String {
        format!("/run/{}", path_text(model))
    }

    fn body<'a>(
        &'a self,
        model: &'a str,
        _client: &'a (),
        request: &'a ChatRequest,
        stream: bool,
    ) -> Result<write::Request<'a>> {
        write::request_body(model, request, stream)
    }

    fn read(
        &self,
        text: &str,
        _model: &str,
        request: &ChatRequest,
        _limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_response(text, request)
    }

    fn decoder(
        &self,
        model: &str,
        request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> read::Decoder {
        read::Decoder::new(request, head.status, model.to_owned(), key, limits)
    }
}

impl CloudflareModel {
    /// The JSON body this model would send for `request`.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for what Workers AI cannot be sent (media,
    /// a forced tool call).
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Result<serde_json::Value> {
        let body = write::request_body(&self.name, request, stream)?;
        Ok(serde_json::to_value(body).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Message, ToolCall, ToolChoice};
    use crate::tool::ToolDef;
    use serde_json::json;

    #[test]
    fn paths_keep_model_names_and_encode_the_rest() {
        assert_eq!(
            WorkersAiApi.path("@cf/meta/llama-3.2-1b-instruct", false),
            "/run/@cf/meta/llama-3.2-1b-instruct"
        );
        assert_eq!(WorkersAiApi.path("bad model", true), "/run/bad%20model");
        assert_eq!(
            account_url("https://x.test/v4/", "a b"),
            "https://x.test/v4/accounts/a%20b/ai"
        );
    }

    #[test]
    fn a_tool_conversation_is_written_as_recorded_and_none_leaves_the_tools_out() {
        let tool = ToolDef::new("square_root", "Root.", json!({"type": "object"}));
        let call = ToolCall::new("c1", "square_root", r#"{"number": 4}"#);
        let req = ChatRequest::new(vec![
            Message::system("Be brief."),
            Message::user("Root of 4?"),
            Message::assistant_tool_calls(vec![call.clone()]),
            Message::tool_result(&call, "2"),
        ])
        .tool(tool)
        .max_tokens(9)
        .seed(1);
        let body = serde_json::to_value(write::request_body("m", &req, true).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Root of 4?"},
                    {"role": "assistant", "content": "{\"number\": 4}", "tool_call_id": "c1"},
                    {"role": "tool", "content": "2", "tool_call_id": "c1"}
                ],
                "stream": true,
                "tools": [{"type": "function", "function": {
                    "description": "Root.", "name": "square_root", "parameters": {"type": "object"}}}],
                "max_tokens": 9,
                "seed": 1
            })
        );
        let none = req.clone().tool_choice(ToolChoice::None);
        let body = serde_json::to_value(write::request_body("m", &none, false).unwrap()).unwrap();
        assert!(
            body.get("tools").is_none() && body.get("stream").is_none(),
            "{body}"
        );
        let forced = req.tool_choice(ToolChoice::Required);
        let e = write::request_body("m", &forced, false).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn answers_read_with_their_finish_worked_out() {
        let ask = |max: Option<u32>| ChatRequest {
            max_tokens: max,
            ..ChatRequest::default()
        };
        let r = read::parse_response(
            r#"{"result": {"response": {"is_fruit": true}, "usage": {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}}, "success": true}"#,
            &ask(None),
        )
        .unwrap();
        assert_eq!(
            r.text(),
            r#"{"is_fruit": true}"#,
            "an object's JSON as written"
        );
        assert_eq!(r.finish_reason, crate::chat::FinishReason::Stop);
        let r = read::parse_response(
            r#"{"result": {"response": "The theory", "usage": {"completion_tokens": 16}}}"#,
            &ask(Some(16)),
        )
        .unwrap();
        assert_eq!(r.finish_reason, crate::chat::FinishReason::Length);
        let r = read::parse_response(
            r#"{"result": {"response": "<think>hm</think>Hi", "usage": {"completion_tokens": 256}}}"#,
            &ask(None),
        )
        .unwrap();
        assert_eq!(
            (r.text(), r.reasoning.as_deref(), &r.finish_reason),
            ("Hi", Some("hm"), &crate::chat::FinishReason::Length),
            "Workers AI's default limit is 256"
        );
        let r = read::parse_response(
            r#"{"result": {"response": null, "tool_calls": [{"name": "f", "arguments": {"n": "1"}}, {"id": "c", "type": "function", "function": {"name": "g", "arguments": "{}"}}, 7]}}"#,
            &ask(None),
        )
        .unwrap();
        let calls: Vec<_> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("", "f", r#"{"n": "1"}"#), ("c", "g", "{}")]);
        assert_eq!(r.finish_reason, crate::chat::FinishReason::ToolCalls);
        for bad in [
            "[1]",
            "{}",
            r#"{"success": false, "errors": [{"code": 5023, "message": "no"}]}"#,
        ] {
            assert!(read::parse_response(bad, &ask(None)).is_err(), "{bad}");
        }
    }
}

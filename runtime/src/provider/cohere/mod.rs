//! Cohere's v2 chat (`POST /v2/chat`): text, thinking, tools (forced with
//! `required`, held to their schemas with `strict_tools`), JSON mode and
//! schemas, documents answered with citations (into the documents or into
//! tool results), seeds, token limits, stop sequences, log probabilities,
//! images; its own stream of typed events.

mod read;
mod write;

use super::capabilities::{Capabilities, Support, Thinking};
use super::client::{ProtocolClient, ProtocolModel, Provider};
use super::http::{ApiKey, Limits};
use super::protocol::{AnswerHead, Protocol};
use super::streaming::SseJson;
use crate::chat::{ChatRequest, ChatResponse, ContentPart, Message};
use crate::error::{Error, ErrorKind, Result};

static PROVIDER: Provider = Provider {
    name: "cohere",
    base_url: "https://api.cohere.com",
    key_header: None,
    models_path: "/v1/models?page_size=1000",
    headers: &[],
    key_var: "COHERE_API_KEY",
    url_var: "COHERE_BASE_URL",
    key_how: "create an API key at dashboard.cohere.com/api-keys and export it",
    typed_error,
};

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

/// A client for Cohere's API. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> typecall::Result<()> {
/// use typecall::{Model, chat::{ChatRequest, ContentPart, Message}};
/// use typecall::provider::Cohere;
/// let command = Cohere::from_env()?.model("command-a-reasoning-08-2025");
/// let ask = ChatRequest::new(vec![Message::user_parts(vec![
///     ContentPart::document("The capital of Quackiland is Quack."),
///     ContentPart::text("What is the capital of Quackiland?"),
/// ])]);
/// let answer = command.chat(&ask).await?;
/// println!("{} ({} citations)", answer.text(), answer.citations.len());
/// # Ok(()) }
/// ```
pub type Cohere = ProtocolClient<CohereChatApi>;

/// A model of a [`Cohere`] client.
pub type CohereModel = ProtocolModel<CohereChatApi>;

/// Cohere's v2 chat, as a model's settings: its thinking switch (unset: the
/// model's own default).
#[derive(Debug, Clone, Default)]
pub struct CohereChatApi {
    think: Option<bool>,
}

impl Cohere {
    /// A client with this API key (sent as `Authorization: Bearer`).
    pub fn new(api_key: impl Into<String>) -> Self {
        Self::with_key(&PROVIDER, api_key)
    }

    /// A client with the key from `COHERE_API_KEY` (and the base URL from
    /// `COHERE_BASE_URL`, if set).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the key is not set.
    pub fn from_env() -> Result<Self> {
        Self::from_env_of(&PROVIDER)
    }

    /// A model (`command-a-03-2025`, `command-a-reasoning-08-2025`,
    /// `command-r7b-12-2024`, …).
    pub fn model(&self, name: impl Into<String>) -> CohereModel {
        let name = name.into();
        let caps = capabilities(&name);
        self.model_with(name, caps, CohereChatApi::default())
    }
}

/// What v2 chat takes. Images and log probabilities depend on the model
/// (vision models see images; reasoning models refuse log probabilities):
/// tried, and the server's refusal typed.
fn capabilities(model: &str) -> Capabilities {
    let mut c = Capabilities::unknown();
    for s in [
        &mut c.tools,
        &mut c.tool_choice_required,
        &mut c.json_mode,
        &mut c.json_schema,
        &mut c.seed,
        &mut c.max_tokens,
        &mut c.stop,
        &mut c.citations,
    ] {
        *s = Support::Yes;
    }
    for s in [
        &mut c.pdf,
        &mut c.audio,
        &mut c.video,
        &mut c.web_search,
        &mut c.web_fetch,
        &mut c.reasoning_effort,
        &mut c.speech_output,
        &mut c.image_output,
    ] {
        *s = Support::No;
    }
    if model.contains("reasoning") {
        c.thinking = Thinking::Always;
    }
    c
}

impl CohereModel {
    /// Turns thinking on or off (`thinking: {"type": "enabled" | "disabled"}`,
    /// for models that think); its thoughts come back in
    /// [`ChatResponse::reasoning`].
    pub fn thinking(mut self, on: bool) -> Self {
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
    /// [`ErrorKind::Unsupported`] for what v2 chat cannot carry (media other
    /// than images), [`ErrorKind::Config`] for a tool choice naming a tool
    /// the request does not offer.
    pub fn request_body(&self, request: &ChatRequest, stream: bool) -> Result<serde_json::Value> {
        let body = write::request_body(&self.name, request, stream, self.settings.think)?;
        Ok(serde_json::to_value(body).unwrap_or_default())
    }
}

/// A document of a request as Cohere is given it: its id (its title where
/// that is unique, else `doc_N`), title, text, and whether it is to be
/// cited. The position in the list is the document's index in
/// [`CitationSource::Document`](crate::chat::CitationSource::Document).
pub(crate) struct DocumentRef<'a> {
    pub id: String,
    pub title: Option<&'a str>,
    pub text: &'a str,
    pub cite: bool,
}

/// The request's documents, in order (user messages' document parts).
pub(crate) fn documents(req: &ChatRequest) -> Vec<DocumentRef<'_>> {
    let mut out: Vec<DocumentRef<'_>> = Vec::new();
    for m in &req.messages {
        let Message::User { content } = m else {
            continue;
        };
        for part in content {
            let ContentPart::Document(d) = part else {
                continue;
            };
            let title = d.title.as_deref().filter(|t| !t.is_empty());
            let id = match title {
                Some(t) if !out.iter().any(|o| o.id == t) => t.to_owned(),
                _ => format!("doc_{}", out.len()),
            };
            out.push(DocumentRef {
                id,
                title,
                text: &d.text,
                cite: d.citations,
            });
        }
    }
    out
}

impl Protocol for CohereChatApi {
    type Decoder = SseJson<read::Events>;
    type Client = ();
    type Body<'a> = write::Request<'a>;

    fn path(&self, _model: &str, _stream: bool) -> String {
        "/v2/chat".into()
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
        request: &ChatRequest,
        limits: &Limits,
        _head: &AnswerHead,
    ) -> Result<ChatResponse> {
        read::parse_response(text, model, request, limits)
    }

    fn decoder(
        &self,
        model: &str,
        request: &ChatRequest,
        head: AnswerHead,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> SseJson<read::Events> {
        SseJson::new(
            read::Events::new(request, head, model.to_owned(), key, limits),
            limits,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{CitationSource, Document, FinishReason, Message, ToolCall, ToolChoice};
    use crate::provider::client::read_whole_stream;
    use crate::tool::ToolDef;
    use serde_json::json;

    fn doc(text: &str, title: Option<&str>) -> ContentPart {
        ContentPart::Document(Document {
            text: text.into(),
            media_type: "text/plain".into(),
            title: title.map(str::to_owned),
            citations: true,
        })
    }

    #[test]
    fn requests_are_written_in_cohere_form() {
        let call = ToolCall::new("c1", "square_root", r#"{"number":4}"#);
        let req = ChatRequest::new(vec![
            Message::system("Be brief."),
            Message::user_parts(vec![
                doc("Quack is the capital.", Some("a.txt")),
                doc("Ducks swim.", Some("a.txt")),
                ContentPart::text("Root of 4?"),
                ContentPart::media_bytes("image/png", b"\x89PNG"),
            ]),
            Message::assistant_tool_calls(vec![call.clone()]),
            Message::tool_result(&call, "2"),
        ])
        .tool(ToolDef::new(
            "square_root",
            "Root.",
            json!({"type": "object"}),
        ))
        .tool(ToolDef::new("other", "Other.", json!({"type": "object"})))
        .tool_choice(ToolChoice::Tool("square_root".into()))
        .seed(1)
        .max_tokens(9)
        .stop(["is"])
        .logprobs(2);
        let m = Cohere::new("k")
            .model("command-r7b-12-2024")
            .thinking(false);
        let body = m.request_body(&req, true).unwrap();
        assert_eq!(
            body["documents"],
            json!([
                {"id": "a.txt", "data": {"snippet": "Quack is the capital.", "title": "a.txt"}},
                {"id": "doc_1", "data": {"snippet": "Ducks swim.", "title": "a.txt"}}
            ]),
            "a title used twice is not an id twice"
        );
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "text", "text": "Root of 4?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}
            ])
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "square_root", "arguments": "{\"number\":4}"}}]})
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "2"}]})
        );
        // A named tool: offered alone, required, held to its schema.
        assert_eq!(body["tools"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            (&body["tool_choice"], &body["strict_tools"]),
            (&json!("required"), &json!(true))
        );
        assert_eq!(
            (
                &body["seed"],
                &body["max_tokens"],
                &body["stop_sequences"],
                &body["logprobs"]
            ),
            (&json!(1), &json!(9), &json!(["is"]), &json!(true))
        );
        assert_eq!(body["thinking"], json!({"type": "disabled"}));
        let unknown = req.clone().tool_choice(ToolChoice::Tool("nope".into()));
        assert_eq!(
            m.request_body(&unknown, false).unwrap_err().kind(),
            ErrorKind::Config
        );
        let audio = ChatRequest::new(vec![Message::user_parts(vec![ContentPart::media_bytes(
            "audio/wav",
            b"RIFF",
        )])]);
        assert_eq!(
            m.request_body(&audio, false).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        // Documents not to be cited: citations off.
        let quiet = ChatRequest::new(vec![Message::user_parts(vec![
            ContentPart::Document(Document {
                citations: false,
                ..match doc("Quack.", None) {
                    ContentPart::Document(d) => d,
                    _ => unreachable!(),
                }
            }),
            ContentPart::text("Capital?"),
        ])]);
        let body = m.request_body(&quiet, false).unwrap();
        assert_eq!(body["citation_options"], json!({"mode": "OFF"}));
    }

    fn cite_request() -> ChatRequest {
        ChatRequest::new(vec![Message::user_parts(vec![
            doc("Ducks swim.", None),
            doc("The capital of Quackiland is Quack.", Some("q.txt")),
            ContentPart::text("Capital?"),
        ])])
    }

    #[test]
    fn answers_and_streams_read_alike_with_their_citations() {
        let req = cite_request();
        let blocking = read::parse_response(
            r#"{"id":"r1","message":{"role":"assistant","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"It is Quack."}],
               "citations":[{"start":6,"end":12,"text":"Quack.","sources":[{"type":"document","id":"q.txt","document":{"id":"q.txt"}},{"type":"document","id":"gone","document":{"snippet":"Quackiland is Quack"}},{"type":"tool","id":"c7:0","tool_output":{}}]}]},
               "finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":1,"output_tokens":2},"tokens":{"input_tokens":10,"output_tokens":20},"cached_tokens":4},
               "logprobs":[{"text":"It","token_ids":[1,2],"logprobs":[-0.5,-0.25]}]}"#,
            "m",
            &req,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            (blocking.text(), blocking.reasoning.as_deref()),
            ("It is Quack.", Some("hm"))
        );
        let quack = CitationSource::Document {
            index: 1,
            title: Some("q.txt".into()),
            start: 29,
            end: 35,
        };
        let sources: Vec<&CitationSource> = blocking.citations.iter().map(|c| &c.source).collect();
        assert_eq!(
            sources,
            [
                &quack,
                &quack,
                &CitationSource::ToolResult {
                    call_id: "c7".into()
                }
            ],
            "by id, by the snippet quoted, by the call"
        );
        assert_eq!(
            (
                blocking.usage.prompt_tokens,
                blocking.usage.completion_tokens,
                blocking.usage.cached_tokens
            ),
            (10, 20, Some(4))
        );
        let lp = blocking.logprobs.as_deref().unwrap();
        assert_eq!((lp[0].token.as_str(), lp[0].logprob), ("It", -0.75));
        let stream = concat!(
            "event: message-start\ndata: {\"id\":\"r1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n",
            "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"thinking\":\"hm\"}}}}\n\n",
            "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"It is \"}}},\"logprobs\":{\"text\":\"It\",\"token_ids\":[1],\"logprobs\":[-0.75]}}\n\n",
            "data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Quack.\"}}}}\n\n",
            "data: {\"type\":\"citation-start\",\"index\":0,\"delta\":{\"message\":{\"citations\":{\"start\":6,\"end\":12,\"text\":\"Quack.\",\"sources\":[{\"type\":\"document\",\"id\":\"q.txt\"}]}}}}\n\n",
            "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"tokens\":{\"input_tokens\":10,\"output_tokens\":20}}}}\n\n",
            "data: [DONE]\n\n",
        );
        let limits = Limits::default();
        let decoder = SseJson::new(
            read::Events::new(&req, AnswerHead::default(), "m".into(), None, &limits),
            &limits,
        );
        let streamed =
            crate::provider::streaming::decode_whole(decoder, stream.as_bytes()).unwrap();
        assert_eq!(streamed.citations, blocking.citations[..1]);
        assert_eq!(
            (
                streamed.text(),
                streamed.reasoning.as_deref(),
                streamed.id.as_str()
            ),
            ("It is Quack.", Some("hm"), "r1")
        );
        assert_eq!(streamed.finish_reason, FinishReason::Stop);
        assert_eq!(streamed.logprobs.map(|l| l.len()), Some(1));
    }

    #[test]
    fn streamed_calls_and_failures_are_read() {
        let calls = concat!(
            "data: {\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":\"I will call.\"}}}\n\n",
            "data: {\"type\":\"tool-call-start\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}}}}\n\n",
            "data: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{\\\"n\\\":\"}}}}}\n\n",
            "data: {\"type\":\"tool-call-start\",\"index\":1,\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}}}}\n\n",
            "data: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"1}\"}}}}}\n\n",
            "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\",\"usage\":{}}}\n\n",
        );
        let api = CohereChatApi::default();
        let r = read_whole_stream(&api, calls.as_bytes()).unwrap();
        let got: Vec<_> = r
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(got, [("a", "f", r#"{"n":1}"#), ("b", "g", "{}")]);
        assert_eq!(
            (r.finish_reason, r.reasoning.as_deref()),
            (FinishReason::ToolCalls, Some("I will call."))
        );
        let failed = "data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"usage\":{},\"error\":\"No valid response generated\"}}\n\n";
        let e = read_whole_stream(&api, failed.as_bytes()).unwrap_err();
        assert_eq!(
            (e.kind(), e.status()),
            (ErrorKind::BadRequest, Some(422)),
            "{e}"
        );
        assert!(e.to_string().contains("No valid response"), "{e}");
        let cut = calls
            .split("data: {\"type\":\"message-end\"")
            .next()
            .unwrap();
        assert_eq!(
            read_whole_stream(&api, cut.as_bytes()).unwrap_err().kind(),
            ErrorKind::Connection
        );
        let e = read::parse_response(
            r#"{"id":"x","message":"invalid request: image content is not supported for this model"}"#,
            "m",
            &ChatRequest::default(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("image content"), "{e}");
    }
}

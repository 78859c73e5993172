//! Retries, backoff and every error variant, against a scripted local server.

use std::time::{Duration, Instant};

use serde_json::json;
use typecall::chat::{ChatRequest, Message, ReasoningEffort, StreamEvent, ToolCall};
use typecall::provider::{Model, RetryPolicy, collect};
use typecall::tool::ToolDef;
use typecall::{Cerebras, ErrorKind, OpenAiCompat};
use typecall_tests::hostile::{Body, HostileServer, Reply};

fn ok_body(text: &str) -> serde_json::Value {
    json!({"id": "c1", "model": "m", "object": "chat.completion",
           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(40))
}

fn hello() -> ChatRequest {
    ChatRequest::new(vec![Message::user("Say hello.")])
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let server = HostileServer::start(vec![
        Reply::json(
            429,
            &json!({"message": "Requests per minute limit exceeded - too many requests sent.",
            "type": "too_many_requests_error", "param": "quota", "code": "request_quota_exceeded"}),
        )
        .header("retry-after-ms", "300"),
        Reply::json(200, &ok_body("hello")),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(fast_retries())
        .model("m");
    let start = Instant::now();
    let resp = model.chat(&hello()).await.unwrap();
    assert_eq!(resp.text(), "hello");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "Retry-After was not honoured"
    );
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let server = HostileServer::start(vec![
        Reply::json(500, &json!({"message": "boom"})),
        Reply::json(503, &json!({"message": "busy"})),
        Reply::json(200, &ok_body("third time")),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(fast_retries())
        .model("m");
    assert_eq!(model.chat(&hello()).await.unwrap().text(), "third time");
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn retries_run_out_into_typed_errors() {
    let server = HostileServer::start(vec![Reply::json(500, &json!({"message": "boom"}))]).await;
    let model = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(fast_retries().max_retries(1))
        .model("m");
    let err = model.chat(&hello()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.api_error().is_some_and(|e| e.message == "boom") && err.status() == Some(500));
    assert_eq!(server.requests(), 2);

    let server = HostileServer::start(vec![
        Reply::json(429, &json!({"message": "Tokens per minute limit exceeded"}))
            .header("retry-after", "3600"),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(fast_retries())
        .model("m");
    match model.chat(&hello()).await {
        // A wait beyond `max_wait` is not slept through: the error carries it.
        Err(e) if e.kind() == ErrorKind::RateLimited => {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_map_to_variants() {
    let cases = [
        (
            401,
            json!({"message": "Wrong API Key", "type": "invalid_request_error", "param": "api_key", "code": "wrong_api_key"}),
        ),
        (
            404,
            json!({"message": "Model nope does not exist or you do not have access to it.", "type": "not_found_error", "param": "model", "code": "model_not_found"}),
        ),
        (
            400,
            json!({"message": "Unsupported JSON schema fields: {'pattern'}", "type": "invalid_request_error", "code": "wrong_api_format"}),
        ),
        (
            403,
            json!({"message": "Multimodal is not enabled for your organization and model", "code": "multimodal_not_enabled"}),
        ),
    ];
    for (status, body) in cases {
        let server = HostileServer::start(vec![Reply::json(status, &body.clone())]).await;
        let model = Cerebras::new("csk-abcdefghijklmnopqrstuv")
            .base_url(&server.url)
            .retry(fast_retries())
            .model("nope");
        let err = model.chat(&hello()).await.unwrap_err();
        let said = err.api_error().cloned().unwrap_or_default();
        let ok = match (err.kind(), status) {
            (ErrorKind::Auth, 401 | 403) => said.code.as_deref() == body["code"].as_str(),
            (ErrorKind::ModelNotFound, 404) => err.model() == Some("nope"),
            (ErrorKind::BadRequest, 400) => said.message.contains("pattern"),
            _ => false,
        };
        assert!(ok, "HTTP {status}: {err:?}");
        assert!(!format!("{err} {err:?}").contains("csk-abcdefghijklmnopqrstuv"));
        assert_eq!(server.requests(), 1, "HTTP {status} must not be retried");
    }
}

#[tokio::test]
async fn an_invalid_json_body_is_a_protocol_error_quoting_it() {
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/html",
        Body::Bytes(b"<html>gateway</html>".to_vec()),
    )])
    .await;
    let err = OpenAiCompat::new(&server.url)
        .discovery(false)
        .model("m")
        .chat(&hello())
        .await
        .unwrap_err();
    assert!(
        err.kind() == ErrorKind::Protocol && err.to_string().contains("<html>gateway"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_connection_closed_mid_stream_is_an_error_not_a_short_answer() {
    let chunk =
        json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hello"}}]});
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Cut(format!("data: {chunk}\n\n").into_bytes()),
    )])
    .await;
    let model = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(fast_retries())
        .model("m");
    let stream = model.stream(&hello()).await.unwrap();
    let err = collect(stream).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Connection, "{err:?}");
    // Once a stream has delivered, it is never retried.
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn an_error_inside_a_stream_uses_the_status_in_the_body() {
    let server = HostileServer::start(vec![Reply::sse(&[
        json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
        json!({"error": {"message": "Tokens per minute limit exceeded", "type": "too_many_requests_error", "code": "token_quota_exceeded"}, "status_code": 429}),
    ])])
    .await;
    let stream = OpenAiCompat::new(&server.url)
        .discovery(false)
        .model("m")
        .stream(&hello())
        .await
        .unwrap();
    let err = collect(stream).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn streams_send_include_usage_only_where_accepted() {
    let server = HostileServer::start(vec![Reply::sse(&[
        json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}),
    ])])
    .await;
    let resp = collect(
        OpenAiCompat::new(&server.url)
            .discovery(false)
            .model("m")
            .stream(&hello())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!((resp.text(), resp.usage.total_tokens), ("Hi", 3));
    assert_eq!(
        server.bodies()[0]["stream_options"],
        json!({"include_usage": true})
    );
    let server2 = HostileServer::start(vec![Reply::sse(&[
        json!({"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}]}),
    ])])
    .await;
    collect(
        Cerebras::new("k")
            .base_url(&server2.url)
            .model("llama3.1-8b")
            .stream(&hello())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let sent = &server2.bodies()[0];
    assert!(
        sent.get("stream_options").is_none(),
        "Cerebras rejects unknown fields: {sent}"
    );
}

#[tokio::test]
async fn cerebras_answers_blocking_when_it_refuses_to_stream_structured_output() {
    let refusal = json!({"message": "\"stream=true\" with structured outputs is currently not supported for reasoning models.",
        "type": "invalid_request_error", "param": "tools_mode", "code": "wrong_api_format"});
    let answer = json!({"id": "c", "model": "qwen-3-32b", "choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": "<think>use the tool</think>", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 132413}"}}]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}});
    let server =
        HostileServer::start(vec![Reply::json(400, &refusal), Reply::json(200, &answer)]).await;
    let tool = ToolDef::new(
        "square_root",
        "Square root",
        json!({"type": "object", "properties": {"number": {"type": "number"}},
        "required": ["number"], "additionalProperties": false}),
    );
    let req = hello().tool(tool);
    let model = Cerebras::new("k")
        .base_url(&server.url)
        .retry(fast_retries())
        .model("qwen-3-32b");
    let mut stream = model.stream(&req).await.unwrap();
    let mut saw_ready = false;
    let mut done = None;
    use futures_util::StreamExt;
    while let Some(ev) = stream.next().await {
        match ev.unwrap() {
            StreamEvent::ToolCallReady { call, .. } => saw_ready = call.name == "square_root",
            StreamEvent::Done(r) => done = Some(r),
            _ => {}
        }
    }
    let done = done.unwrap();
    assert!(saw_ready);
    assert_eq!(done.reasoning.as_deref(), Some("use the tool"));
    let sent = server.bodies();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["stream"], json!(true));
    assert!(sent[1].get("stream").is_none());
}

#[tokio::test]
async fn unsupported_options_and_bad_conversations_fail_before_sending() {
    let server = HostileServer::start(vec![Reply::json(200, &ok_body("x"))]).await;
    let cerebras = Cerebras::new("k").base_url(&server.url);
    let err = cerebras
        .model("llama3.1-8b")
        .chat(&hello().reasoning_effort(ReasoningEffort::High))
        .await
        .unwrap_err();
    assert!(
        err.unsupported_feature() == Some("reasoning_effort"),
        "{err}"
    );
    let tool = ToolDef::new(
        "t",
        "d",
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
    );
    let both = hello()
        .tool(tool)
        .response_format(typecall::chat::ResponseFormat::JsonObject);
    let err = cerebras
        .model("llama-3.3-70b")
        .chat(&both)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("final-answer tool"), "{err}");
    let dangling = ChatRequest::new(vec![
        Message::user("hi"),
        Message::assistant_tool_calls(vec![ToolCall::new("a", "t", "{}")]),
        Message::user("and?"),
    ]);
    let err = cerebras
        .model("llama3.1-8b")
        .chat(&dangling)
        .await
        .unwrap_err();
    assert!(err.kind() == ErrorKind::Conversation, "{err}");
    // Nothing reached the server.
    assert_eq!(server.requests(), 0);
    // gpt-oss takes reasoning_effort; a model the table does not know gets everything sent.
    cerebras
        .model("gpt-oss-120b")
        .chat(&hello().reasoning_effort(ReasoningEffort::Low))
        .await
        .unwrap();
    assert_eq!(server.bodies()[0]["reasoning_effort"], json!("low"));
}

#[test]
fn the_api_key_is_never_in_debug_output() {
    let c = Cerebras::new("csk-supersecretvalue1234567890");
    let text = format!("{c:?} {:?}", c.model("llama3.1-8b"));
    assert!(!text.contains("supersecret"), "{text}");
    assert!(text.contains("redacted"));
}

#[test]
fn from_env_without_a_key_says_what_to_do() {
    if std::env::var_os("CEREBRAS_API_KEY").is_some() {
        typecall_tests::skip("from_env_without_a_key", "CEREBRAS_API_KEY is set");
        return;
    }
    let err = Cerebras::from_env().unwrap_err().to_string();
    assert!(err.contains("CEREBRAS_API_KEY"), "{err}");
}

/// What chat completions cannot carry is refused before anything is sent:
/// provider-side tools, citations, and media a model's table says it cannot
/// take (PDF, audio and video on Cerebras).
#[tokio::test]
async fn what_chat_completions_cannot_carry_is_refused_first() {
    use typecall::chat::{ContentPart, ServerTool};
    let nowhere = "http://127.0.0.1:9"; // nothing listens: a sent request would fail otherwise
    let compat = typecall::OpenAiCompat::new(nowhere).model("m");
    let cerebras = typecall::Cerebras::new("k")
        .base_url(nowhere)
        .model("llama3.1-8b");
    let search = ChatRequest::new(vec![Message::user("who?")])
        .server_tool(ServerTool::WebSearch { max_uses: None });
    let cite = ChatRequest::new(vec![Message::user_parts(vec![
        ContentPart::document("The capital of Quackiland is Quack."),
        ContentPart::text("What is the capital?"),
    ])]);
    let pdf = ChatRequest::new(vec![Message::user_parts(vec![
        ContentPart::text("What is the word?"),
        ContentPart::media_bytes("application/pdf", b"%PDF-1.5"),
    ])]);
    for (req, feature) in [(&search, "provider-side tools"), (&cite, "citations")] {
        match compat.chat(req).await {
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                let f = e.unsupported_feature().unwrap_or_default();
                assert!(f.contains(feature), "{f}");
            }
            other => panic!("{feature}: {other:?}"),
        }
    }
    for (req, feature) in [(&search, "web search"), (&cite, "citations"), (&pdf, "PDF")] {
        match cerebras.chat(req).await {
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                let f = e.unsupported_feature().unwrap_or_default();
                assert!(f.contains(feature), "{f}");
                // The message says what to do instead.
                assert!(e.to_string().split(": ").count() > 1, "{e}");
            }
            other => panic!("{feature}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_http_clients_error_is_kept_as_the_source_and_timeouts_have_one_kind() {
    // A refused connection: a connection error whose source is reqwest's.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let err = OpenAiCompat::new(&url)
        .discovery(false)
        .retry(RetryPolicy::none())
        .model("m")
        .chat(&hello())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    let source = std::error::Error::source(&err).expect("a source");
    assert!(
        source
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_connect)
    );

    // A server that never answers, the user's client timing out first: a
    // timeout, whoever's clock ran out, with the client's error underneath.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    // reqwest without a built-in crypto provider: ring, as typecall's own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = OpenAiCompat::new(&url)
        .discovery(false)
        .http_client(client)
        .retry(RetryPolicy::none())
        .model("m")
        .chat(&hello())
        .await
        .unwrap_err();
    assert!(
        err.is_timeout() && err.kind() == ErrorKind::Timeout,
        "{err:?}"
    );
    let source = std::error::Error::source(&err).expect("a source");
    assert!(
        source
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
    );
    // typecall's own timeout: the same kind, and it says how long it waited.
    let err = OpenAiCompat::new(&url)
        .discovery(false)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .model("m")
        .chat(&hello())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.timeout_after(), Some(Duration::from_millis(200)));
    held.abort();
}

#[tokio::test]
async fn speech_is_asked_read_back_and_refused_where_it_cannot_be_carried() {
    use typecall::chat::{MediaOutput, MediaSource};
    let mp3 = "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA";
    let mut spoken = ok_body("");
    spoken["choices"][0]["message"]["audio"] = json!({"id": "a1", "data": mp3, "transcript": null});
    let server = HostileServer::start(vec![Reply::json(200, &spoken)]).await;
    let speak = ChatRequest::new(vec![Message::assistant("Say hi.")])
        .media_output(MediaOutput::speech("mp3"));

    // Formats that cannot carry it refuse before sending.
    let claude = typecall::Anthropic::new("k")
        .base_url(server.url.clone())
        .model("claude-x");
    let e = claude.chat(&speak).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let compat = OpenAiCompat::new(server.url.clone()).model("m");
    let e = compat.stream(&speak).await.err().expect("refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(server.requests(), 0, "nothing was sent");

    // Chat completions: asked with `audio` (and OpenAI's modalities), read
    // back as media whose type comes from the bytes.
    let answer = compat.chat(&speak).await.unwrap();
    let sent = server.bodies().pop().unwrap();
    assert_eq!(sent["audio"], json!({"format": "mp3"}));
    assert_eq!(sent["modalities"], json!(["text", "audio"]));
    let [media] = answer.media.as_slice() else {
        panic!("{:?}", answer.media);
    };
    assert_eq!(
        (media.media_type.as_str(), media.extension()),
        ("audio/mpeg", "mp3")
    );
    assert_eq!(media.source, MediaSource::Base64(mp3.into()));
    assert!(media.bytes().unwrap().starts_with(b"ID3"));
}

//! API keys stay secret on every provider: they travel in headers (never in a
//! URL), and neither a recording, an error nor a `Debug` output holds them,
//! even when a server echoes the key back.

use std::collections::BTreeMap;
use std::sync::Arc;

use typecall::chat::{ChatRequest, Message};
use typecall::provider::{Model, RetryPolicy, collect};
use typecall::testing::{RecordedResponse, Recorder, Replay};
use typecall::{Anthropic, Cerebras, ErrorKind, Gemini, OpenAiCompat, OpenAiResponses};

/// A key in no known format: only exact-key redaction can catch it.
const KEY: &str = "my-very-secret-key-0123456789";

fn response(status: u16, content_type: &str, body: String) -> RecordedResponse {
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_owned(), vec![content_type.to_owned()]);
    headers.insert("x-echo".to_owned(), vec![format!("key={KEY}")]);
    RecordedResponse {
        status,
        headers,
        body,
    }
}

/// Each provider: a name, a successful answer that echoes the key, and a
/// model built against `url` recording into `rec`.
type Build = fn(&str, Arc<Recorder>) -> (Box<dyn Model>, String);

fn providers() -> Vec<(&'static str, String, Build)> {
    let chat = format!(
        r#"{{"id":"x","model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"you sent {KEY}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}}}"#
    );
    vec![
        ("cerebras", chat.clone(), |url, rec| {
            let m = Cerebras::new(KEY)
                .base_url(url)
                .retry(RetryPolicy::none())
                .observe(rec)
                .model("m");
            let debug = format!("{m:?}");
            (Box::new(m), debug)
        }),
        ("openai_compat", chat, |url, rec| {
            let m = OpenAiCompat::new(url)
                .discovery(false)
                .api_key(KEY)
                .retry(RetryPolicy::none())
                .observe(rec)
                .model("m");
            let debug = format!("{m:?}");
            (Box::new(m), debug)
        }),
        (
            "anthropic",
            format!(
                r#"{{"id":"m","model":"m","type":"message","role":"assistant","content":[{{"type":"text","text":"you sent {KEY}"}}],"stop_reason":"end_turn","usage":{{"input_tokens":1,"output_tokens":1}}}}"#
            ),
            |url, rec| {
                let m = Anthropic::new(KEY)
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .observe(rec)
                    .model("m");
                let debug = format!("{m:?}");
                (Box::new(m), debug)
            },
        ),
        (
            "gemini",
            format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"you sent {KEY}"}}],"role":"model"}},"finishReason":"STOP"}}],"usageMetadata":{{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}},"responseId":"r"}}"#
            ),
            |url, rec| {
                let m = Gemini::new(KEY)
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .observe(rec)
                    .model("m");
                let debug = format!("{m:?}");
                (Box::new(m), debug)
            },
        ),
        (
            "openai_responses",
            format!(
                r#"{{"id":"r","model":"m","status":"completed","output":[{{"type":"message","content":[{{"type":"output_text","text":"you sent {KEY}"}}]}}],"usage":{{"input_tokens":1,"output_tokens":1,"total_tokens":2}}}}"#
            ),
            |url, rec| {
                let m = OpenAiResponses::new(KEY)
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .observe(rec)
                    .model("m");
                let debug = format!("{m:?}");
                (Box::new(m), debug)
            },
        ),
        (
            "cloudflare",
            format!(
                r#"{{"result":{{"response":"you sent {KEY}","usage":{{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}}},"success":true,"errors":[]}}"#
            ),
            |url, rec| {
                let m = typecall::Cloudflare::new("account", KEY)
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .observe(rec)
                    .model("@cf/m");
                let debug = format!("{m:?}");
                (Box::new(m), debug)
            },
        ),
        (
            "cohere",
            format!(
                r#"{{"id":"r","message":{{"role":"assistant","content":[{{"type":"text","text":"you sent {KEY}"}}]}},"finish_reason":"COMPLETE","usage":{{"tokens":{{"input_tokens":1,"output_tokens":1}}}}}}"#
            ),
            |url, rec| {
                let m = typecall::provider::Cohere::new(KEY)
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .observe(rec)
                    .model("m");
                let debug = format!("{m:?}");
                (Box::new(m), debug)
            },
        ),
    ]
}

#[tokio::test]
async fn no_recording_error_or_debug_output_holds_the_key() {
    let dir = std::env::temp_dir().join(format!("typecall-keys-{}", std::process::id()));
    let hello = ChatRequest::new(vec![Message::user("hi")]);
    for (name, ok_body, build) in providers() {
        // A successful answer that echoes the key, blocking.
        let server =
            Replay::answering_every_request(response(200, "application/json", ok_body)).unwrap();
        let path = dir.join(format!("{name}-ok.json"));
        let rec = Arc::new(Recorder::new(&path));
        let (model, debug) = build(&server.url(), rec.clone());
        let answer = model
            .chat(&hello)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(answer.text().contains("you sent"), "{name}");
        assert!(!debug.contains(KEY), "{name}: Debug shows the key: {debug}");
        // A refusal that echoes the key, blocking and streamed.
        let err_body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
        );
        let server =
            Replay::answering_every_request(response(401, "application/json", err_body)).unwrap();
        let bad = dir.join(format!("{name}-401.json"));
        let rec_bad = Arc::new(Recorder::new(&bad));
        let (model, _) = build(&server.url(), rec_bad.clone());
        let err = model.chat(&hello).await.unwrap_err();
        let streamed = match model.stream(&hello).await {
            Ok(s) => collect(s).await.unwrap_err(),
            Err(e) => e,
        };
        for e in [&err, &streamed] {
            assert!(e.kind() == ErrorKind::Auth, "{name}: {e:?}");
            assert!(
                !format!("{e} {e:?}").contains(KEY),
                "{name}: the error shows the key"
            );
        }
        for file in [&path, &bad] {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                text.contains("\"interactions\""),
                "{name}: nothing recorded"
            );
            assert!(
                !text.contains(KEY),
                "{name}: {} holds the key",
                file.display()
            );
            assert!(
                !text.contains("my-very-secret"),
                "{name}: part of the key recorded"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_recorded_stream_holds_no_key_either() {
    let dir = std::env::temp_dir().join(format!("typecall-keys-stream-{}", std::process::id()));
    let sse = format!(
        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"m\",\"model\":\"m\",\"content\":[],\"usage\":{{\"input_tokens\":1,\"output_tokens\":1}}}}}}\n\n\
event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"you sent {KEY}\"}}}}\n\n\
event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{{\"output_tokens\":3}}}}\n\n\
event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    );
    let server = Replay::answering_every_request(response(200, "text/event-stream", sse)).unwrap();
    let path = dir.join("anthropic-stream.json");
    let rec = Arc::new(Recorder::new(&path));
    let model = Anthropic::new(KEY)
        .base_url(server.url())
        .retry(RetryPolicy::none())
        .observe(rec)
        .model("m");
    let answer = collect(
        model
            .stream(&ChatRequest::new(vec![Message::user("hi")]))
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(answer.text().starts_with("you sent"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("you sent [redacted]"), "{text}");
    assert!(!text.contains(KEY));
    let _ = std::fs::remove_dir_all(&dir);
}

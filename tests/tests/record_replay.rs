//! The record-and-replay tools users test their own code with.

use std::sync::Arc;

use typecall::chat::{ChatRequest, Message};
use typecall::provider::{Model, RetryPolicy, collect};
use typecall::testing::{Recorder, Replay};
use typecall::{Cerebras, ErrorKind};
use typecall_tests::recordings_dir;

fn hello() -> ChatRequest {
    ChatRequest::new(vec![Message::user("Say hello. Use only one word.")])
}

#[tokio::test]
async fn replay_matches_requests_by_meaning() {
    let Some(dir) = recordings_dir("replay by meaning") else {
        return;
    };
    let replay = Replay::from_dir(dir.join("cerebras/llama3.1-8b")).unwrap();
    assert!(replay.len() > 20);
    let model = Cerebras::new("k")
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .model("llama3.1-8b");
    // typecall's own wording (an added system line) still finds the recording.
    let worded = ChatRequest::new(vec![
        Message::system("You are terse."),
        Message::user("Say hello. Use only one word."),
    ]);
    let resp = model.chat(&worded).await.unwrap();
    assert!(!resp.text().is_empty());
    // The seed is part of the meaning: the Seed recording answers, not Text.
    let seeded = model.chat(&hello().seed(42)).await.unwrap();
    assert!(!seeded.text().is_empty());
    // Something never recorded is a clear error naming what was asked.
    let err = model.chat(&hello().seed(7)).await.unwrap_err();
    match (err.kind(), err.api_error()) {
        (ErrorKind::BadRequest, Some(e)) => {
            assert!(
                e.message.contains("no recorded interaction matches"),
                "{}",
                e.message
            );
            assert!(
                e.message.contains("seed=7") && e.message.contains("llama3.1-8b"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_recording_replays_into_the_same_answer_and_holds_no_key() {
    let Some(dir) = recordings_dir("recorder") else {
        return;
    };
    let source = Replay::from_dir(dir.join("cerebras/gpt-oss-120b_thinking")).unwrap();
    let out_dir = std::env::temp_dir().join(format!("typecall-recorder-{}", std::process::id()));
    let file = out_dir.join("gpt-oss/GenSync-Text.json");
    let recorder = Arc::new(Recorder::new(&file));
    let key = "csk-abcdefghijklmnopqrstuvwxyz0123";
    let live = Cerebras::new(key)
        .base_url(source.url())
        .observe(recorder.clone())
        .model("gpt-oss-120b");
    let first = live.chat(&hello()).await.unwrap();
    let streamed = collect(live.stream(&hello()).await.unwrap()).await.unwrap();
    assert_eq!(recorder.len(), 2);
    assert!(
        recorder.write_errors().is_empty(),
        "{:?}",
        recorder.write_errors()
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains(key) && !written.to_lowercase().contains("authorization"));

    let replay = Replay::from_dir(&out_dir).unwrap();
    let again = Cerebras::new("other")
        .base_url(replay.url())
        .model("gpt-oss-120b");
    let second = again.chat(&hello()).await.unwrap();
    assert_eq!(second.content, first.content);
    assert_eq!(second.reasoning, first.reasoning);
    assert_eq!(second.usage.total_tokens, first.usage.total_tokens);
    assert_eq!(second.rate_limits, first.rate_limits);
    let restreamed = collect(again.stream(&hello()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(restreamed.content, streamed.content);
    let _ = std::fs::remove_dir_all(&out_dir);
}

//! The recorded batch, file, token-counting and caching exchanges of the
//! native providers (`<provider>/extras/`), replayed step by step through
//! typecall's API: each request goes where the recording says, the bodies
//! typecall sends mean what the recorded ones say, and each answer reads into
//! the recorded facts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use typecall::provider::{BatchStatus, RetryPolicy};
use typecall::testing::{Interaction, Replay};
use typecall::{Anthropic, ErrorKind, Gemini};
use typecall_tests::{RequestLog, interactions, recordings_dir, skip};

fn body_of(i: &Interaction) -> Value {
    serde_json::from_str(&i.response.body).unwrap_or(Value::Null)
}

fn anthropic(replay: &Replay, log: Arc<RequestLog>) -> Anthropic {
    Anthropic::new("k")
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .observe(log)
}

#[tokio::test]
async fn anthropic_batches_files_and_token_counts_replay() {
    let Some(root) = recordings_dir("anthropic storage replay") else {
        return;
    };
    let dir = root.join("anthropic/extras");
    if !dir.is_dir() {
        skip("anthropic storage replay", "no anthropic/extras");
        return;
    }
    let mut checked = 0;
    for file in [
        "BatchCRUD.json",
        "Batch.json",
        "GenAsync-Text.json",
        "FileCRUD.json",
        "CountTokens.json",
    ] {
        let path = dir.join(file);
        if !path.exists() {
            skip("anthropic storage replay", &format!("no {file}"));
            continue;
        }
        let all = interactions(&path);
        let replay = Replay::from_interactions(all.clone()).unwrap();
        let log = Arc::new(RequestLog::default());
        let client = anthropic(&replay, log.clone());
        let first = &all[0];
        let params = first.request.body.as_ref().and_then(|b| {
            b.pointer("/requests/0/params")
                .cloned()
                .or_else(|| Some(b.clone()))
        });
        let request = |p: &Value| typecall_tests::anthropic::request_from_recorded(p).0;
        match file {
            "BatchCRUD.json" | "GenAsync-Text.json" | "Batch.json" => {
                let params = params.unwrap();
                let model = client
                    .model(params["model"].as_str().unwrap())
                    .thinking(typecall_tests::anthropic::thinking_of(&params));
                let req = request(&params);
                let batch = model.create_batch(&[("TODO", &req)]).await.unwrap();
                assert_eq!(batch.id, body_of(first)["id"], "{file}");
                assert_eq!(batch.status, BatchStatus::InProgress);
                assert_eq!(batch.counts.processing, 1);
                // What was sent means what was recorded.
                assert_eq!(
                    log.bodies()[0],
                    first.request.body.clone().unwrap(),
                    "{file}: batch request"
                );
                if file == "BatchCRUD.json" {
                    let got = client.batch(&batch.id).await.unwrap();
                    assert_eq!(got.id, batch.id);
                    let listed = client.list_batches().await.unwrap();
                    assert_eq!(
                        listed.len(),
                        body_of(&all[2])["data"].as_array().unwrap().len()
                    );
                    let last = all.last().unwrap();
                    let id = last.request.url.rsplit('/').next().unwrap();
                    client.delete_batch(id).await.unwrap();
                } else if file == "Batch.json" {
                    // Polled until the results are there, as recorded (the
                    // 404s of a batch still running are waited out).
                    let results = client
                        .wait_for_batch_results(&batch.id, Duration::ZERO, Duration::from_secs(120))
                        .await
                        .unwrap();
                    let recorded = body_of(all.last().unwrap());
                    assert_eq!(results.len(), 1);
                    assert_eq!(results[0].custom_id, "TODO");
                    let answer = results[0].outcome.as_ref().unwrap();
                    assert_eq!(
                        answer.text(),
                        recorded
                            .pointer("/result/message/content/0/text")
                            .unwrap()
                            .as_str()
                            .unwrap()
                    );
                    assert!(answer.usage.total_tokens > 0);
                }
            }
            "FileCRUD.json" => {
                let uploaded = client
                    .upload_file(
                        "test.txt",
                        "application/octet-stream",
                        b"Hello from genai file upload test.",
                    )
                    .await
                    .unwrap();
                assert_eq!(uploaded.id, body_of(first)["id"]);
                assert_eq!(uploaded.size_bytes, Some(34));
                let sent = log.bodies()[0].as_str().unwrap_or_default().to_owned();
                assert!(
                    sent.contains("filename=\"test.txt\"")
                        && sent.contains("Hello from genai file upload test.")
                );
                assert_eq!(
                    client.file(&uploaded.id).await.unwrap().name.as_deref(),
                    Some("test.txt")
                );
                assert_eq!(client.list_files().await.unwrap().len(), 1);
                client.delete_file(&uploaded.id).await.unwrap();
            }
            "CountTokens.json" => {
                let params = params.unwrap();
                let model = client.model(params["model"].as_str().unwrap());
                let n = model.count_tokens(&request(&params)).await.unwrap();
                assert_eq!(Some(n), body_of(first)["input_tokens"].as_u64());
                assert_eq!(log.bodies()[0], params, "count_tokens request");
            }
            _ => unreachable!(),
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} files");
}

#[tokio::test]
async fn gemini_files_and_cached_prompts_replay() {
    let Some(root) = recordings_dir("gemini storage replay") else {
        return;
    };
    let dir = root.join("gemini/extras");
    if !dir.is_dir() {
        skip("gemini storage replay", "no gemini/extras");
        return;
    }
    let mut checked = 0;
    for file in ["FileCRUD.json", "Cache.json", "Caching-Text.json"] {
        let path = dir.join(file);
        if !path.exists() {
            skip("gemini storage replay", &format!("no {file}"));
            continue;
        }
        let all = interactions(&path);
        let replay = Replay::from_interactions(all.clone()).unwrap();
        let log = Arc::new(RequestLog::default());
        let client = Gemini::new("k")
            .base_url(format!("{}/v1beta", replay.url()))
            .retry(RetryPolicy::none())
            .observe(log.clone());
        match file {
            "FileCRUD.json" => {
                let f = client
                    .upload_file(
                        "test.txt",
                        "text/plain",
                        b"Hello from genai file upload test.",
                    )
                    .await
                    .unwrap();
                let recorded = body_of(&all[1]);
                assert_eq!(f.id, recorded["file"]["name"]);
                assert_eq!(f.size_bytes, Some(34));
                assert!(f.uri.is_some());
                assert_eq!(log.bodies()[0], all[0].request.body.clone().unwrap());
                assert_eq!(
                    client.file(&f.id).await.unwrap().name.as_deref(),
                    Some("test.txt")
                );
                assert_eq!(client.list_files().await.unwrap().len(), 1);
                client.delete_file(&f.id).await.unwrap();
            }
            "Cache.json" | "Caching-Text.json" => {
                let body = all[0].request.body.clone().unwrap();
                let model_name = body["model"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("models/");
                let prefix = typecall_tests::gemini::request_from_recorded(&body, "");
                let ttl: u64 = body["ttl"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('s')
                    .parse()
                    .unwrap();
                let model = client.model(model_name);
                let cache = model
                    .create_cached_prompt(
                        &prefix,
                        Duration::from_secs(ttl),
                        body["displayName"].as_str().unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(log.bodies()[0], body, "{file}: cache request");
                let recorded = body_of(&all[0]);
                assert_eq!(cache.id, recorded["name"]);
                assert_eq!(
                    cache.tokens,
                    recorded["usageMetadata"]["totalTokenCount"].as_u64()
                );
                if file == "Cache.json" {
                    assert_eq!(client.cached_prompt(&cache.id).await.unwrap().id, cache.id);
                    let longer = model
                        .extend_cached_prompt(&cache.id, Duration::from_secs(1200))
                        .await
                        .unwrap();
                    assert_ne!(longer.expires_at, cache.expires_at);
                    assert_eq!(
                        log.bodies().last().unwrap(),
                        &all[2].request.body.clone().unwrap()
                    );
                    assert!(!client.list_cached_prompts().await.unwrap().is_empty());
                    client.delete_cached_prompt(&cache.id).await.unwrap();
                    // Gone: Gemini answers 403 for a deleted cache.
                    match client.cached_prompt(&cache.id).await {
                        Err(e) if e.kind() == ErrorKind::Auth => {
                            assert_eq!(e.status(), Some(403));
                        }
                        other => panic!("expected the recorded 403, got {other:?}"),
                    }
                }
            }
            _ => unreachable!(),
        }
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} files");
}

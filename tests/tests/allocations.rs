//! What one call costs in allocations, pinned: typecall's round trip against a
//! bare `reqwest` POST plus a `serde_json` parse of the same recorded answer
//! (the floor), on the same loopback server. The server's own allocations are
//! the same for both and cancel out in the difference, which is what is pinned:
//! a change that makes the hot path allocate more fails here, with no timing.
//! (A counting global allocator: this binary holds this one test.)

use std::alloc::System;
use std::path::Path;

use futures_util::StreamExt;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use typecall::chat::{ChatRequest, Message};
use typecall::provider::{OpenAiCompatModel, RetryPolicy, collect};
use typecall::testing::{Interaction, Replay};
use typecall::{Model, OpenAiCompat};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLS: usize = 200;

fn recorded(rel: &str) -> Option<Interaction> {
    let dir = typecall_tests::recordings_dir("allocations per call")?;
    let text = std::fs::read_to_string(Path::new(&dir).join("cerebras").join(rel)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(v.pointer("/interactions/0")?.clone()).ok()
}

async fn typecall_call(model: &OpenAiCompatModel, req: &ChatRequest, stream: bool) {
    let r = if stream {
        collect(model.stream(req).await.unwrap()).await
    } else {
        model.chat(req).await
    };
    assert!(r.is_ok());
}

async fn floor_call(client: &reqwest::Client, url: &str, body: &serde_json::Value, stream: bool) {
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    if stream {
        let mut s = resp.bytes_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = s.next().await {
            buf.extend_from_slice(&chunk.unwrap());
            while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = buf.drain(..end + 2).collect();
                if let Some(data) = event.strip_prefix(b"data: ") {
                    let data = data.trim_ascii_end();
                    if data != b"[DONE]" {
                        let _ = serde_json::from_slice::<serde_json::Value>(data);
                    }
                }
            }
        }
    } else {
        let bytes = resp.bytes().await.unwrap();
        let _ = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
    }
}

/// Allocations per call of `f` (after one warm-up call).
fn per_call(rt: &tokio::runtime::Runtime, f: impl AsyncFn()) -> f64 {
    rt.block_on(async {
        f().await;
        let region = Region::new(GLOBAL);
        for _ in 0..CALLS {
            f().await;
        }
        region.change().allocations as f64 / CALLS as f64
    })
}

#[test]
fn one_call_allocates_at_most_a_pinned_number_more_than_the_floor() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // (case, recording, streamed, the most extra allocations per call allowed)
    let cases = [
        (
            "blocking text",
            "llama3.1-8b/GenSync-Text.json",
            false,
            BLOCKING_TEXT,
        ),
        (
            "streamed text",
            "llama3.1-8b/GenStream-Text.json",
            true,
            STREAMED_TEXT,
        ),
        (
            "streamed tool call",
            "llama3.1-8b/GenStream-Tools-SquareRoot-1.json",
            true,
            STREAMED_TOOL_CALL,
        ),
    ];
    for (name, rel, stream, pinned) in cases {
        // One fixed recording per case, so the pinned counts compare; the
        // counts are of typecall's own code, which is the same for every model.
        let Some(i) = recorded(rel) else {
            typecall_tests::skip(
                "allocations per call",
                &format!("no recording cerebras/{rel} (set TYPECALL_RECORDINGS)"),
            );
            return;
        };
        let server = Replay::answering_every_request(i.response).unwrap();
        let model = OpenAiCompat::new(server.url())
            .discovery(false)
            .retry(RetryPolicy::none())
            .model("llama3.1-8b");
        let req = ChatRequest::new(vec![Message::user("Hello")]);
        let body = model.request_body(&req, stream);
        let url = format!("{}/chat/completions", server.url());
        // reqwest without a built-in crypto provider: ring, as typecall's own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let ours = per_call(&rt, async || typecall_call(&model, &req, stream).await);
        let floor = per_call(&rt, async || floor_call(&client, &url, &body, stream).await);
        let extra = ours - floor;
        println!(
            "{name}: typecall {ours:.0}, floor {floor:.0}, extra {extra:.0} allocations per call (pinned at {pinned})"
        );
        assert!(
            extra <= pinned as f64,
            "{name}: {extra:.0} allocations per call more than the floor; pinned at {pinned}"
        );
    }
}

/// The pinned bounds, allocations per call beyond the floor's: today's counts
/// (-34, -83, -64: answers and chunks are read as typed structs borrowing
/// from the body, so a call allocates less than parsing the answer into a
/// `Value`), with a little room.
const BLOCKING_TEXT: i64 = -30;
const STREAMED_TEXT: i64 = -78;
const STREAMED_TOOL_CALL: i64 = -58;

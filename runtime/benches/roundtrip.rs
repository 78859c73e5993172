//! Per-call overhead: typecall's whole round trip against a bare `reqwest`
//! POST plus `serde_json` parse of the same answer (the floor), on a loopback
//! server answering every request with a recorded Cerebras response (headers
//! included, keep-alive). Three cases: a blocking text answer, a streamed text
//! answer, a streamed tool call. Current-thread runtime (multi-thread figures
//! swing more on a 2-core machine; `TYPECALL_BENCH_MULTI_THREAD=1` runs them).
//!
//! Before criterion's figures it prints the ratio typecall / floor: 2000
//! sequential calls per round, floor and typecall rounds alternating, the
//! median of 9 paired rounds.
//! Run: `cargo bench -p typecall --features testing --bench roundtrip`
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;
use typecall::chat::{ChatRequest, Message};
use typecall::provider::{OpenAiCompatModel, RetryPolicy, collect};
use typecall::testing::{Interaction, Replay};
use typecall::{Model, OpenAiCompat};

mod support;

fn recorded(rel: &str) -> Option<Interaction> {
    serde_json::from_value(support::recorded(rel)?).ok()
}

/// One case: a server, typecall's model, and the floor's client.
struct Case {
    name: &'static str,
    stream: bool,
    _server: Replay,
    url: String,
    model: OpenAiCompatModel,
    request: ChatRequest,
    body: serde_json::Value,
    client: reqwest::Client,
}

impl Case {
    fn new(name: &'static str, rel: &str, stream: bool) -> Option<Self> {
        let i = recorded(rel)?;
        let server = Replay::answering_every_request(i.response).ok()?;
        let url = server.url();
        let model = OpenAiCompat::new(&url)
            .retry(RetryPolicy::none())
            .model("llama3.1-8b");
        let request = ChatRequest::new(vec![Message::user("Hello")]);
        let body = model.request_body(&request, stream);
        Some(Self {
            name,
            stream,
            _server: server,
            url,
            model,
            request,
            body,
            client: {
                // reqwest without a built-in crypto provider: ring, as
                // typecall's own client has it.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            },
        })
    }

    async fn typecall(&self) {
        let r = if self.stream {
            collect(self.model.stream(&self.request).await.expect("stream")).await
        } else {
            self.model.chat(&self.request).await
        };
        black_box(r.expect("an answer"));
    }

    /// A bare POST and a `serde_json::Value` parse of the answer (each SSE
    /// event for a stream).
    async fn floor(&self) {
        let resp = self
            .client
            .post(format!("{}/chat/completions", self.url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&self.body).expect("a body"))
            .send()
            .await
            .expect("a response");
        if self.stream {
            let mut s = resp.bytes_stream();
            let mut buf = Vec::new();
            while let Some(chunk) = s.next().await {
                buf.extend_from_slice(&chunk.expect("bytes"));
                while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = buf.drain(..end + 2).collect();
                    if let Some(data) = event.strip_prefix(b"data: ") {
                        let data = data.trim_ascii_end();
                        if data != b"[DONE]" {
                            black_box(serde_json::from_slice::<serde_json::Value>(data).ok());
                        }
                    }
                }
            }
        } else {
            let bytes = resp.bytes().await.expect("a body");
            black_box(serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON"));
        }
    }
}

fn bench(c: &mut Criterion) {
    // TYPECALL_BENCH_MULTI_THREAD=1: a two-worker multi-thread runtime instead.
    let rt = if std::env::var_os("TYPECALL_BENCH_MULTI_THREAD").is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .expect("a runtime");
    let cases: Vec<Case> = [
        ("blocking text", "llama3.1-8b/GenSync-Text.json", false),
        ("streamed text", "llama3.1-8b/GenStream-Text.json", true),
        (
            "streamed tool call",
            "llama3.1-8b/GenStream-Tools-SquareRoot-1.json",
            true,
        ),
    ]
    .into_iter()
    .filter_map(|(name, rel, stream)| rt.block_on(async { Case::new(name, rel, stream) }))
    .collect();
    if cases.len() < 3 {
        eprintln!("SKIPPED roundtrip bench: no recordings (set TYPECALL_RECORDINGS)");
        return;
    }
    // Paired rounds (floor, typecall, floor, …) of CALLS calls each, the
    // ratio the median of the rounds' ratios: drift of the machine between
    // rounds hits both sides alike.
    const CALLS: usize = 2000;
    const ROUNDS: usize = 9;
    for case in &cases {
        let round = |typecall: bool| {
            rt.block_on(async {
                if typecall {
                    case.typecall().await
                } else {
                    case.floor().await
                }
                let t0 = Instant::now();
                for _ in 0..CALLS {
                    if typecall {
                        case.typecall().await
                    } else {
                        case.floor().await
                    }
                }
                t0.elapsed()
            })
        };
        let mut pairs: Vec<(Duration, Duration)> =
            (0..ROUNDS).map(|_| (round(false), round(true))).collect();
        pairs.sort_by(|a, b| {
            let r = |p: &(Duration, Duration)| p.1.as_secs_f64() / p.0.as_secs_f64();
            r(a).total_cmp(&r(b))
        });
        let (floor, ours) = pairs[ROUNDS / 2];
        eprintln!(
            "roundtrip {:<20} floor {:>6.1} µs  typecall {:>6.1} µs  ratio {:.2}x (median of {ROUNDS} paired rounds of {CALLS} calls)",
            case.name,
            floor.as_secs_f64() * 1e6 / CALLS as f64,
            ours.as_secs_f64() * 1e6 / CALLS as f64,
            ours.as_secs_f64() / floor.as_secs_f64()
        );
    }
    for case in &cases {
        let mut g = c.benchmark_group(format!("roundtrip {}", case.name));
        g.bench_function("floor (reqwest + serde_json)", |b| {
            b.iter(|| rt.block_on(case.floor()))
        });
        g.bench_function("typecall", |b| b.iter(|| rt.block_on(case.typecall())));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

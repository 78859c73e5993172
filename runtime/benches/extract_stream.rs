//! A streamed extraction's cost per byte, from 1 KiB to 1 MiB answers fed in
//! 16-byte chunks (about a token each) by an in-process model: every
//! `Partial`, every `Settled` part judged against its sub-schema, and the final
//! validation. The throughput should be flat (within 2×) across sizes: the
//! work is linear in the answer's length.
#![allow(missing_docs)]
// `typecall::Error` is large by design (see the crate root).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use typecall::chat::{ChatRequest, ChatResponse, StreamEvent};
use typecall::future::BoxFuture;
use typecall::output::{ExtractEvent, OutputMode};
use typecall::provider::{Capabilities, ChatStream};
use typecall::{Extract, Model};

mod support;

/// An item of the answer.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Item {
    id: u64,
    name: String,
    tags: Vec<String>,
    price: f64,
    ok: bool,
}

/// Streams a prepared answer in 16-byte chunks.
struct Streamer {
    chunks: Vec<String>,
    answer: String,
}

impl Model for Streamer {
    fn name(&self) -> &str {
        "streamer"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::unknown()
    }
    fn chat<'a>(&'a self, _: &'a ChatRequest) -> BoxFuture<'a, typecall::Result<ChatResponse>> {
        Box::pin(async move { Ok(self.response()) })
    }
    fn stream<'a>(&'a self, _: &'a ChatRequest) -> BoxFuture<'a, typecall::Result<ChatStream>> {
        let mut events: Vec<typecall::Result<StreamEvent>> = self
            .chunks
            .iter()
            .map(|c| Ok(StreamEvent::TextDelta(c.clone())))
            .collect();
        events.push(Ok(StreamEvent::Done(Box::new(self.response()))));
        Box::pin(async move { Ok(Box::pin(futures_util::stream::iter(events)) as ChatStream) })
    }
}

impl Streamer {
    fn response(&self) -> ChatResponse {
        let mut r = ChatResponse::default();
        r.content = Some(self.answer.clone());
        r
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut g = c.benchmark_group("streamed extraction (16-byte chunks)");
    g.sample_size(10);
    for size in [1 << 10, 16 << 10, 256 << 10, 1 << 20] {
        let doc = support::document(size);
        let model = Streamer {
            chunks: support::chunks(&doc, 16),
            answer: doc.clone(),
        };
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{} KiB", size >> 10)),
            &model,
            |b, model| {
                b.iter(|| {
                    rt.block_on(async {
                        let mut s = Extract::<Vec<Item>>::new(model)
                            .mode(OutputMode::Native)
                            .stream("list them")
                            .await
                            .expect("the stream starts");
                        let mut events = 0usize;
                        while let Some(ev) = s.next().await {
                            match ev.expect("no error") {
                                ExtractEvent::Done(x) => {
                                    black_box(x.value.len());
                                }
                                other => {
                                    black_box(&other);
                                }
                            }
                            events += 1;
                        }
                        events
                    })
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

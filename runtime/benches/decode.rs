//! Decoding cost: a recorded blocking answer and a long recorded stream, each
//! against a bare `serde_json::from_slice` of the same bytes (the floor).
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod support;

fn recorded_body(rel: &str) -> Option<String> {
    support::recorded(rel)?
        .pointer("/response/body")?
        .as_str()
        .map(str::to_owned)
}

fn bench(c: &mut Criterion) {
    let (Some(blocking), Some(stream)) = (
        recorded_body("llama3.1-8b/GenSync-TopLogprobs.json"),
        recorded_body("gpt-oss-120b_thinking/GenStream-Tools-ToolBias-USA.json"),
    ) else {
        eprintln!("SKIPPED decode bench: no recordings (set TYPECALL_RECORDINGS)");
        return;
    };
    let mut g = c.benchmark_group("decode blocking");
    g.throughput(Throughput::Bytes(blocking.len() as u64));
    g.bench_function("serde_json::from_slice (floor)", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(blocking.as_bytes()).ok()))
    });
    g.bench_function("typecall parse_chat_response", |b| {
        b.iter(|| black_box(typecall::testing::decode::chat_response(&blocking).ok()))
    });
    g.finish();

    // The stream's data payloads, as one JSON array, is what the floor parses.
    let payloads: Vec<&str> = stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .collect();
    let as_array = format!("[{}]", payloads.join(","));
    let mut g = c.benchmark_group("decode stream");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("serde_json::from_slice of the payloads (floor)", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(as_array.as_bytes()).ok()))
    });
    g.bench_function("typecall parse_chat_stream", |b| {
        b.iter(|| black_box(typecall::testing::decode::chat_stream(stream.as_bytes()).ok()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

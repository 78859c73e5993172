//! The incremental JSON parser's cost per byte, from 1 KiB to 1 MiB documents
//! fed in 16-byte chunks (about a token each), with the partial value read
//! after every chunk: the throughput should be flat across sizes.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use typecall::output::PartialJson;

fn document(target: usize) -> String {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0u64;
    while len < target {
        let item = serde_json::json!({"id": i, "name": format!("item number {i}"), "tags": ["a", "b"], "price": i as f64 * 1.25, "ok": i.is_multiple_of(2)});
        len += item.to_string().len() + 1;
        items.push(item);
        i += 1;
    }
    serde_json::json!({"value": items}).to_string()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("partial json (16-byte chunks)");
    for size in [1 << 10, 16 << 10, 256 << 10, 1 << 20] {
        let doc = document(size);
        let chunks: Vec<&str> = {
            let mut v = Vec::new();
            let mut start = 0;
            while start < doc.len() {
                let mut end = (start + 16).min(doc.len());
                while !doc.is_char_boundary(end) {
                    end += 1;
                }
                v.push(&doc[start..end]);
                start = end;
            }
            v
        };
        g.throughput(Throughput::Bytes(doc.len() as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{} KiB", size >> 10)),
            &chunks,
            |b, chunks| {
                b.iter(|| {
                    let mut p = PartialJson::new();
                    for c in chunks {
                        p.push(c);
                        black_box(p.value());
                    }
                    black_box(p.take_settled().len())
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The incremental JSON parser's cost per byte, from 1 KiB to 1 MiB documents
//! fed in 16-byte chunks (about a token each), with the partial value read
//! after every chunk: the throughput should be flat across sizes.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use typecall::output::PartialJson;

mod support;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("partial json (16-byte chunks)");
    for size in [1 << 10, 16 << 10, 256 << 10, 1 << 20] {
        let doc = support::document(size);
        let chunks = support::chunks(&doc, 16);
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

//! Schema generation cost: building a schema (what the first `schema_for` call
//! pays), a cached `schema_for` call, and bare `schemars::schema_for!` as the floor.
#![allow(missing_docs, dead_code)]

use criterion::{Criterion, criterion_group, criterion_main};
use schemars::JsonSchema;
use std::hint::black_box;
use typecall::schema::{Dialect, Schema, schema_for};

#[derive(JsonSchema, serde::Deserialize)]
struct Line {
    description: String,
    quantity: u32,
    unit_price_cents: u64,
}

#[derive(JsonSchema, serde::Deserialize)]
enum Currency {
    Eur,
    Usd,
}

/// An invoice.
#[derive(JsonSchema, serde::Deserialize)]
struct Invoice {
    /// The invoice number.
    number: String,
    total_cents: u64,
    lines: Vec<Line>,
    due: Option<String>,
    currency: Currency,
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("schema");
    g.bench_function("schemars::schema_for! (floor)", |b| {
        b.iter(|| black_box(schemars::schema_for!(Invoice)))
    });
    g.bench_function("first call (build + lower + compile, Strict)", |b| {
        b.iter(|| black_box(Schema::of::<Invoice>(Dialect::Strict)))
    });
    g.bench_function("cached schema_for (Strict)", |b| {
        b.iter(|| black_box(schema_for::<Invoice>(Dialect::Strict)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

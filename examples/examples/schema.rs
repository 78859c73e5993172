//! What typecall sends for a Rust type, and what it does with the answer.
//!
//! Run: `cargo run -p typecall-examples --example schema`

use schemars::JsonSchema;
use serde::Deserialize;
use typecall::schema::{Dialect, schema_for};

/// An invoice extracted from text.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)] // read through `Debug`
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    /// The total, in cents.
    total_cents: u64,
    /// Due date (YYYY-MM-DD), if the invoice gives one.
    due: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = schema_for::<Invoice>(Dialect::Strict)?;
    println!("Sent to the model (Dialect::Strict):");
    println!("{}", serde_json::to_string_pretty(schema.as_json())?);

    let answer = serde_json::json!({"number": "F-2026-17", "total_cents": 12900, "due": null});
    let invoice: Invoice = schema.decode(answer)?;
    println!("\nDecoded: {invoice:?}");

    let bad = serde_json::json!({"number": "F-1", "total_cents": -5, "due": null});
    if let Err(e) = schema.decode::<Invoice>(bad) {
        println!("\nA bad answer is refused with what to fix:\n{e}");
    }
    Ok(())
}

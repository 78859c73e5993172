//! Typed extraction: text in, a validated struct out. Against Cerebras when
//! `CEREBRAS_API_KEY` is set, else against the local model.
//!
//! Run: `TYPECALL_LOCAL_BASE_URL=http://127.0.0.1:PORT/v1 cargo run -p typecall-examples --example extract`

use typecall_examples::pick_model;
use typecall_examples::ticket::{self, TEXT};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    println!("model: {label}");
    let text = TEXT;
    println!("text: {text}");
    let out = ticket::extraction(model.as_ref(), !label.starts_with("cerebras"))
        .run(text)
        .await?;
    println!("ticket: {:#?}", out.value);
    println!(
        "({} attempt(s), {} tokens)",
        out.attempts.len(),
        out.usage.total_tokens
    );
    Ok(())
}

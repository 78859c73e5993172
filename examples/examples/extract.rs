//! Typed extraction: text in, a validated struct out. Against Cerebras when
//! `CEREBRAS_API_KEY` is set, else against the local model.
//!
//! Run: `TYPECALL_LOCAL_BASE_URL=http://127.0.0.1:PORT/v1 cargo run -p typecall-examples --example extract`

use typecall::schema::Dialect;
use typecall::{Extract, OutputMode};
use typecall_examples::pick_model;
use typecall_examples::ticket::{TEXT, Ticket};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    println!("model: {label}");
    let text = TEXT;
    println!("text: {text}");
    // A local llama.cpp server turns the full schema into a grammar (bounds
    // included); Cerebras takes the strict dialect.
    let dialect = if label.starts_with("cerebras") {
        Dialect::Strict
    } else {
        Dialect::JsonSchema
    };
    let out = Extract::<Ticket>::with_dyn(model.as_ref())
        .system("You turn support requests into tickets.")
        .mode(OutputMode::Native)
        .dialect(dialect)
        .max_tokens(300)
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

//! Typed extraction: text in, a validated struct out. Against Cerebras when
//! `CEREBRAS_API_KEY` is set, else against the local model.
//!
//! Run: `TYPECALL_LOCAL_BASE_URL=http://127.0.0.1:PORT/v1 cargo run -p typecall-examples --example extract`

use schemars::JsonSchema;
use serde::Deserialize;
use typecall::schema::Dialect;
use typecall::{Extract, OutputMode};
use typecall_examples::pick_model;

/// How urgent a ticket is.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // read through Debug
enum Priority {
    Low,
    Normal,
    High,
}

/// One step to resolve a ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Step {
    #[schemars(length(max = 60))]
    action: String,
    minutes: u16,
}

/// A support ticket.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Ticket {
    #[schemars(length(max = 60))]
    title: String,
    priority: Priority,
    #[schemars(length(min = 1, max = 3))]
    steps: Vec<Step>,
    assignee: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    println!("model: {label}");
    let text = "The printer on floor 2 is jammed again. It is urgent: clear the paper tray \
                (5 minutes), then restart it (2 minutes). Nobody is assigned yet.";
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

//! An agent with two tools, against Cerebras when `CEREBRAS_API_KEY` is set,
//! else against the local model (`scripts/local-model start` prints its URL;
//! `scripts/demo` does all of it).
//!
//! Run: `TYPECALL_LOCAL_BASE_URL=http://127.0.0.1:PORT/v1 cargo run -p typecall-examples --example agent`

use futures_util::StreamExt;
use typecall::AgentEvent;
use typecall_examples::{pick_model, weather};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    println!("model: {label}");
    let agent = weather::agent(model);
    println!("tool mode: {:?}", agent.effective_tool_mode());

    let question = weather::QUESTION;
    println!("user: {question}");
    let mut events = agent.run_stream(question).await?;
    while let Some(event) = events.next().await {
        match event? {
            AgentEvent::ToolCallStarted {
                name, arguments, ..
            } => println!("  → {name}({arguments})"),
            AgentEvent::ToolCallFinished {
                name,
                result,
                duration,
                ..
            } => match result {
                Ok(out) => println!("  ← {name}: {out} ({} µs)", duration.as_micros()),
                Err(e) => println!("  ← {name} failed: {e}"),
            },
            AgentEvent::Done(run) => {
                println!("assistant: {}", run.text());
                println!(
                    "({} turns, {} tokens)",
                    run.turns().len(),
                    run.usage().total_tokens
                );
            }
            _ => {}
        }
    }
    Ok(())
}

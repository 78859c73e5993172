//! An agent with two tools, against Cerebras when `CEREBRAS_API_KEY` is set,
//! else against the local model (`scripts/local-model start` prints its URL;
//! `scripts/demo` does all of it).
//!
//! Run: `TYPECALL_LOCAL_BASE_URL=http://127.0.0.1:PORT/v1 cargo run -p typecall-examples --example agent`

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use typecall::chat::ToolChoice;
use typecall::{Agent, AgentEvent, tool};
use typecall_examples::pick_model;

/// The cities the weather service knows.
#[derive(Debug, Deserialize, JsonSchema)]
enum City {
    Paris,
    Lyon,
    Nice,
}

/// Get the current temperature in a city, in °C.
#[tool]
async fn temperature(city: City) -> f64 {
    match city {
        City::Paris => 14.5,
        City::Lyon => 17.0,
        City::Nice => 21.5,
    }
}

/// Convert a temperature from °C to °F.
#[tool]
fn to_fahrenheit(celsius: f64) -> f64 {
    ((celsius * 9.0 / 5.0 + 32.0) * 10.0).round() / 10.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    println!("model: {label}");
    let agent = Agent::from_arc(model)
        .system("You answer weather questions with the tools. Be brief.")
        .tool(Temperature)
        .tool(ToFahrenheit)
        .first_tool_choice(ToolChoice::Required)
        .tool_choice_after_tools(ToolChoice::None)
        .max_parallel_tools(1)
        .max_turns(4)
        .max_tokens(256);
    println!("tool mode: {:?}", agent.effective_tool_mode());

    let question = "How warm is it in Nice right now?";
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

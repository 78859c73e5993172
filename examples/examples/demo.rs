//! The main demo (`scripts/demo`): an agent that calls a tool, then a typed
//! extraction, against Cerebras when `CEREBRAS_API_KEY` is set, else against a
//! real model on this machine.

use std::time::Instant;

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use typecall::chat::ToolChoice;
use typecall::schema::Dialect;
use typecall::{Agent, AgentEvent, Extract, OutputMode, tool};
use typecall_examples::pick_model;
use typecall_examples::ticket::{TEXT, Ticket};

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

fn indent(text: &str, by: &str) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{by}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    let local = !label.starts_with("cerebras");
    println!("typecall demo · {label}\n");

    // 1. An agent with tools.
    let agent = Agent::from_arc(model.clone())
        .system("You answer weather questions with the tools. Be brief.")
        .tool(Temperature)
        .tool(ToFahrenheit)
        .first_tool_choice(ToolChoice::Required)
        .tool_choice_after_tools(ToolChoice::None)
        .max_parallel_tools(1)
        .max_turns(4)
        .max_tokens(256);
    let question = "How warm is it in Nice right now?";
    println!(
        "1 · agent with two #[tool] functions ({:?} tool calls)",
        agent.effective_tool_mode()
    );
    println!("  you    {question}");
    let t0 = Instant::now();
    let mut events = agent.run_stream(question).await?;
    while let Some(event) = events.next().await {
        match event? {
            AgentEvent::ToolCallFinished {
                name,
                result,
                duration,
                ..
            } => {
                let out = match result {
                    Ok(out) => out,
                    Err(e) => format!("error: {e}"),
                };
                println!("  tool   {name} → {out}  ({} µs)", duration.as_micros());
            }
            AgentEvent::ToolCallStarted {
                name, arguments, ..
            } => println!("  call   {name}({arguments})"),
            AgentEvent::Done(run) => {
                println!("  agent  {}", indent(run.text().trim(), "         "));
                println!(
                    "         {} turns · {} tool call(s) · {} tokens · {:.1} s\n",
                    run.turns().len(),
                    run.tool_calls().len(),
                    run.usage().total_tokens,
                    t0.elapsed().as_secs_f64()
                );
            }
            _ => {}
        }
    }

    // 2. Typed extraction.
    println!("2 · typed extraction into `Ticket` (validated against its schema)");
    println!("  text   {}", indent(TEXT, "         "));
    let t0 = Instant::now();
    // A local llama.cpp server turns the full schema into a grammar (bounds
    // included); Cerebras takes the strict dialect.
    let out = Extract::<Ticket>::with_dyn(model.as_ref())
        .system("You turn support requests into tickets.")
        .mode(OutputMode::Native)
        .dialect(if local {
            Dialect::JsonSchema
        } else {
            Dialect::Strict
        })
        .max_tokens(300)
        .run(TEXT)
        .await?;
    println!(
        "  value  {}",
        indent(&format!("{:#?}", out.value), "         ")
    );
    println!(
        "         {} attempt(s) · {} tokens · {:.1} s\n",
        out.attempts.len(),
        out.usage.total_tokens,
        t0.elapsed().as_secs_f64()
    );
    if local {
        println!(
            "Next: CEREBRAS_API_KEY=… scripts/demo runs the same on Cerebras; any OpenAI-compatible \
             server: OpenAiCompat::new(url).model(name) (see README)."
        );
    } else {
        println!(
            "Next: without CEREBRAS_API_KEY, scripts/demo runs the same on a model on this machine."
        );
    }
    Ok(())
}

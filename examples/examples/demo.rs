//! The main demo (`scripts/demo`): an agent that calls a tool, then a typed
//! extraction, against Cerebras when `CEREBRAS_API_KEY` is set, else against a
//! real model on this machine.

use std::time::Instant;

use futures_util::StreamExt;
use typecall::AgentEvent;
use typecall_examples::ticket::{self, TEXT};
use typecall_examples::{pick_model, weather};

fn indent(text: &str, by: &str) -> String {
    text.lines().collect::<Vec<_>>().join(&format!("\n{by}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, label) = pick_model()?;
    let local = !label.starts_with("cerebras");
    println!("typecall demo · {label}\n");

    // 1. An agent with tools. The model first asks its server what it is:
    // on llama.cpp, tool calls are then held to the tools' schemas.
    model.discover().await;
    let agent = weather::agent(model.clone());
    let question = weather::QUESTION;
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
    let out = ticket::extraction(model.as_ref(), local).run(TEXT).await?;
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

//! Measures how a local model calls tools in each `ToolMode`: the demo's
//! question asked `--runs N` times (seeds 1…N) in Native and Constrained mode,
//! counting right calls (`temperature({"city": "Nice"})`), right answers
//! (mentioning 21.5) and, in Native mode, tool calls the model wrote as JSON
//! text instead of a native call. The figures behind `ToolMode::Auto`'s choice
//! for llama.cpp servers (see the README).
//!
//! Run: `cargo run -p typecall-examples --example tool_modes -- --base-url URL --model NAME [--runs N]`

use std::time::Instant;

use typecall::chat::ToolChoice;
use typecall::provider::Capabilities;
use typecall::{Agent, OpenAiCompat, ToolMode};
use typecall_examples::weather::{QUESTION, Temperature};

/// Whether `text` is a tool call written as JSON text (`{"name": …, "arguments": …}`).
fn json_text_call(text: &str) -> bool {
    let t = text
        .trim()
        .trim_start_matches("<tool_call>")
        .trim_end_matches("</tool_call>");
    // The first JSON value (a model may repeat the call after it).
    let first = t.find('{').and_then(|s| {
        serde_json::Deserializer::from_str(&t[s..])
            .into_iter::<serde_json::Value>()
            .next()?
            .ok()
    });
    first.is_some_and(|v| v.get("name").is_some() && v.get("arguments").is_some())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let url = arg("--base-url").ok_or("--base-url URL is required")?;
    let name = arg("--model").unwrap_or_else(|| "local".into());
    let runs: i64 = arg("--runs").map(|r| r.parse()).transpose()?.unwrap_or(5);
    let model = OpenAiCompat::new(&url)
        .timeout(std::time::Duration::from_secs(300))
        .model(&name)
        .with_capabilities(Capabilities::llama_cpp());
    println!("| model | mode | runs | right call | right answer | JSON-text calls | s/run |");
    println!("|---|---|---|---|---|---|---|");
    for mode in [ToolMode::Native, ToolMode::Constrained] {
        let (mut right_call, mut right_answer, mut text_calls) = (0, 0, 0);
        let t0 = Instant::now();
        for seed in 1..=runs {
            let agent = Agent::new(model.clone())
                .system("You answer weather questions with the tools. Be brief.")
                .tool(Temperature)
                .tool_mode(mode)
                .first_tool_choice(ToolChoice::Required)
                .tool_choice_after_tools(ToolChoice::None)
                .max_parallel_tools(1)
                .max_turns(3)
                .max_tokens(128)
                .seed(seed)
                .temperature(0.7);
            let run = match agent.run(QUESTION).await {
                Ok(run) => run,
                Err(e) => match e.into_run() {
                    Ok((_, run)) => run,
                    Err(e) => return Err(e.into()),
                },
            };
            let calls = run.tool_calls();
            if calls.len() == 1 && calls[0].result.as_deref() == Ok("21.5") {
                right_call += 1;
            }
            if run.text().contains("21.5") {
                right_answer += 1;
            }
            if run
                .turns()
                .iter()
                .any(|t| t.tool_calls.is_empty() && t.text.as_deref().is_some_and(json_text_call))
            {
                text_calls += 1;
            }
        }
        println!(
            "| {name} | {mode:?} | {runs} | {right_call} | {right_answer} | {text_calls} | {:.1} |",
            t0.elapsed().as_secs_f64() / runs as f64
        );
    }
    Ok(())
}

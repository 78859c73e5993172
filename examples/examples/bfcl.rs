//! One model turn per case of the Berkeley Function Calling Leaderboard, through
//! typecall: the runner `scripts/bfcl` drives (it converts BFCL's function
//! docs, scores the calls with BFCL's own checker and prints the table).
//!
//! Reads JSON lines on stdin, `{"id", "messages": [{"role", "content"}],
//! "tools": [{"name", "description", "parameters"}]}`, and writes one line per
//! case: `{"id", "calls": [{"name", "arguments"}], "text", "mode", "problem",
//! "error", "ms"}`.
//!
//! Usage: `bfcl --url http://127.0.0.1:8080/v1 [--mode auto|native|constrained]
//! [--model NAME] [--max-tokens N] [--min-call-confidence P] [--tool-choice required]`
//!
//! `--tool-choice required` makes the turn call (`ToolChoice::Required`): how
//! the model writes calls apart from whether it calls.

use std::io::{BufRead, Write};
use std::time::Instant;

use serde_json::{Value, json};
use typecall::chat::{Message, ToolChoice};
use typecall::tool::FnTool;
use typecall::{Agent, OpenAiCompat, ToolMode};

struct Options {
    url: String,
    model: String,
    mode: ToolMode,
    max_tokens: u32,
    /// `Agent::min_call_confidence`; the agent's default when not given.
    min_call_confidence: Option<f64>,
    /// `Agent::first_tool_choice`: `Some(Required)` makes every case call.
    tool_choice: Option<ToolChoice>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        url: String::new(),
        model: "qwen".into(),
        mode: ToolMode::Auto,
        max_tokens: 400,
        min_call_confidence: None,
        tool_choice: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--url" => o.url = value()?,
            "--model" => o.model = value()?,
            "--max-tokens" => {
                o.max_tokens = value()?.parse().map_err(|e| format!("--max-tokens: {e}"))?
            }
            "--min-call-confidence" => {
                let p: f64 = value()?
                    .parse()
                    .map_err(|e| format!("--min-call-confidence: {e}"))?;
                o.min_call_confidence = Some(p);
            }
            "--tool-choice" => {
                o.tool_choice = match value()?.as_str() {
                    "auto" => None,
                    "required" => Some(ToolChoice::Required),
                    c => return Err(format!("unknown tool choice {c}: auto or required")),
                }
            }
            "--mode" => {
                o.mode = match value()?.as_str() {
                    "auto" => ToolMode::Auto,
                    "native" => ToolMode::Native,
                    "constrained" => ToolMode::Constrained,
                    m => return Err(format!("unknown mode {m}: auto, native or constrained")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(o)
}

/// A tool that is never run: the case needs only the calls.
fn tool(def: &Value) -> Result<FnTool, String> {
    let name = def["name"].as_str().ok_or("a tool without a name")?;
    let description = def["description"].as_str().unwrap_or_default();
    FnTool::new(name, description, def["parameters"].clone(), |_| async {
        Err::<Value, _>("not run in an evaluation")
    })
    .map_err(|e| e.to_string())
}

fn message(m: &Value) -> Message {
    let content = m["content"].as_str().unwrap_or_default().to_owned();
    match m["role"].as_str() {
        Some("system") => Message::system(content),
        Some("assistant") => Message::assistant(content),
        _ => Message::user(content),
    }
}

async fn run_case(
    model: &typecall::provider::OpenAiCompatModel,
    o: &Options,
    case: &Value,
) -> Value {
    let started = Instant::now();
    let mut agent = Agent::new(model.clone())
        .tool_mode(o.mode)
        .max_parallel_tools(4)
        .max_tokens(o.max_tokens)
        .temperature(0.0)
        .seed(1);
    if let Some(p) = o.min_call_confidence {
        agent = agent.min_call_confidence(p);
    }
    if let Some(c) = &o.tool_choice {
        agent = agent.first_tool_choice(c.clone());
    }
    for def in case["tools"].as_array().into_iter().flatten() {
        match tool(def) {
            Ok(t) => agent = agent.tool(t),
            Err(e) => return json!({"id": case["id"], "error": format!("tool: {e}")}),
        }
    }
    let mut messages: Vec<Message> = case["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(message)
        .collect();
    let input = match messages.pop() {
        Some(last) => last.text(),
        None => return json!({"id": case["id"], "error": "no messages"}),
    };
    let decided = agent.decide_after(messages, input).await;
    let ms = started.elapsed().as_millis() as u64;
    match decided {
        Ok(d) => json!({
            "id": case["id"],
            "calls": d.calls.iter().map(|c| json!({
                "name": c.name,
                "arguments": c.parsed_arguments().unwrap_or(Value::Null),
            })).collect::<Vec<_>>(),
            "text": d.text,
            "mode": format!("{:?}", d.mode),
            "problem": d.problem,
            "ms": ms,
        }),
        Err(e) => json!({"id": case["id"], "error": e.to_string(), "ms": ms}),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let model = OpenAiCompat::new(&o.url)
        .timeout(std::time::Duration::from_secs(600))
        .model(&o.model);
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line)?;
        let result = run_case(&model, &o, &case).await;
        writeln!(out, "{result}")?;
        out.flush()?;
    }
    Ok(())
}

//! Probes models for every feature of the public scoreboards and prints the
//! table (progress on stderr, the table on stdout).
//!
//! ```text
//! cargo run -p typecall-examples --example scoreboard -- \
//!     [--provider cerebras|openai-compat|anthropic|gemini|openai-responses|cloudflare|bfl|ollama|cohere|VENDOR] [--base-url URL] \
//!     [--model NAME]... [--replay DIR] [--samples N] [--json]
//! ```
//! `--replay DIR` answers from a recordings tree (the layout of
//! `../shared/recordings/<provider>/`) served on 127.0.0.1, so the table is
//! rebuilt offline; with no `--model`, every model recorded there (a
//! `_thinking` folder is that model probed in thinking mode). Cerebras and
//! OpenAI-compatible servers get the 2025 Cerebras format; the native
//! providers the 2026 format, with the media, citation and web-search
//! scenarios (inline media taken from the recordings when replaying) and
//! `--samples N` tries of the forced tool call (💨 when they disagree); Batch
//! and File come from a batch and a file upload made through those APIs
//! (`--batch-wait SECS` bounds the wait for a live batch, default 600).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use typecall::provider::{Capabilities, Model, RetryPolicy, Thinking};
use typecall::scoreboard::{
    MEDIA, Mode, ProbeOptions, Progress, Table, media_in_recordings, models_in_recordings,
    probe_with, scenarios,
};
use typecall::testing::Replay;
use typecall::{Cerebras, OpenAiCompat};
use typecall_examples::{native_model, storage_cells};

/// Makes a model client by name, thinking or not.
type ModelFactory = Box<dyn Fn(&str, bool) -> Result<Arc<dyn Model>, String>>;

struct Args {
    provider: String,
    base_url: Option<String>,
    models: Vec<String>,
    replay: Option<String>,
    samples: u32,
    batch_wait: u64,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        provider: "cerebras".into(),
        base_url: None,
        models: Vec::new(),
        replay: None,
        samples: 1,
        batch_wait: 600,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--provider" => a.provider = value("--provider")?,
            "--base-url" => a.base_url = Some(value("--base-url")?),
            "--model" => a.models.push(value("--model")?),
            "--replay" => a.replay = Some(value("--replay")?),
            "--samples" => {
                a.samples = value("--samples")?
                    .parse()
                    .map_err(|_| "--samples needs a number".to_owned())?
            }
            "--batch-wait" => {
                a.batch_wait = value("--batch-wait")?
                    .parse()
                    .map_err(|_| "--batch-wait needs seconds".to_owned())?
            }
            "--json" => a.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !matches!(
        a.provider.as_str(),
        "cerebras"
            | "openai-compat"
            | "anthropic"
            | "gemini"
            | "openai-responses"
            | "cloudflare"
            | "bfl"
            | "ollama"
            | "cohere"
    ) && typecall::provider::Vendor::from_name(&a.provider).is_none()
    {
        let vendors: Vec<&str> = typecall::provider::Vendor::ALL
            .iter()
            .map(|v| v.name())
            .collect();
        return Err(format!(
            "unknown provider {}: use cerebras, openai-compat, anthropic, gemini, \
             openai-responses, cloudflare, bfl, ollama, cohere or a vendor ({})",
            a.provider,
            vendors.join(", ")
        ));
    }
    Ok(a)
}

const USAGE: &str = "usage: scoreboard [--provider cerebras|openai-compat|anthropic|gemini|openai-responses|cloudflare|bfl|ollama|cohere|VENDOR] [--base-url URL] [--model NAME]... [--replay DIR] [--samples N] [--batch-wait SECS] [--json]";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        if !e.is_empty() {
            eprintln!("scoreboard: {e}");
        }
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let mut replay = None;
    // (model name, thinking)
    let mut targets: Vec<(String, bool)> = args.models.iter().map(|m| (m.clone(), false)).collect();
    let native = matches!(
        args.provider.as_str(),
        "anthropic" | "gemini" | "openai-responses" | "cloudflare" | "bfl" | "ollama" | "cohere"
    ) || typecall::provider::Vendor::from_name(&args.provider).is_some();
    let mut options = if native {
        ProbeOptions::extended(args.samples)
    } else {
        ProbeOptions::default()
    };
    if args.provider == "huggingface" {
        // The public table asked its Qwen3 models with the switch in the prompt.
        options = options.with_switch_in_prompt();
    }
    if matches!(args.provider.as_str(), "xiaomi" | "ollama") {
        // The public table sent Xiaomi's and Ollama's media in a message of
        // their own.
        options = options.with_media_in_own_message();
    }
    let build: ModelFactory = match (&args.replay, args.provider.as_str()) {
        (Some(dir), provider) if native => {
            let root = std::path::Path::new(dir);
            let server = Replay::from_dir(root).map_err(|e| e.to_string())?;
            let url = server.url();
            if targets.is_empty() {
                targets = models_in_recordings(root).map_err(|e| format!("{dir}: {e}"))?;
            }
            for (media_type, data) in media_in_recordings(root).map_err(|e| e.to_string())? {
                options = options.with_media(media_type, data);
            }
            replay = Some(server);
            let provider = provider.to_owned();
            Box::new(move |m, thinking| native_model(&provider, Some(&url), m, thinking))
        }
        (None, provider) if native => {
            if targets.is_empty() {
                return Err("--model is needed for a live native provider".into());
            }
            let _ = writeln!(
                std::io::stderr(),
                "note: live, only media by URL are probed (inline media come from recordings)"
            );
            let provider = provider.to_owned();
            let base = args.base_url.clone();
            Box::new(move |m, thinking| native_model(&provider, base.as_deref(), m, thinking))
        }
        (Some(dir), _) => {
            let root = std::path::Path::new(dir);
            let server = Replay::from_dir(root).map_err(|e| e.to_string())?;
            let url = server.url();
            if targets.is_empty() {
                targets = models_in_recordings(root).map_err(|e| format!("{dir}: {e}"))?;
            }
            replay = Some(server);
            let client = Cerebras::new("replay")
                .base_url(url)
                .retry(RetryPolicy::none());
            Box::new(move |m, _| Ok(Arc::new(client.model(m))))
        }
        (None, "cerebras") => {
            let client = Cerebras::from_env().map_err(|e| e.to_string())?;
            if targets.is_empty() {
                let listed = client.list_models().await.map_err(|e| e.to_string())?;
                targets = listed.into_iter().map(|m| (m.id, false)).collect();
            }
            Box::new(move |m, _| Ok(Arc::new(client.model(m))))
        }
        (None, _) => {
            let url = args
                .base_url
                .clone()
                .ok_or("--base-url is needed for openai-compat")?;
            let client = OpenAiCompat::new(url);
            if targets.is_empty() {
                let listed = client.list_models().await.map_err(|e| e.to_string())?;
                targets = listed.into_iter().map(|m| (m.id, false)).collect();
            }
            Box::new(move |m, _| {
                Ok(Arc::new(
                    client.model(m).with_capabilities(Capabilities::llama_cpp()),
                ))
            })
        }
    };
    // Live models that think on request get a thinking row too.
    if replay.is_none() {
        let mut extra = Vec::new();
        for (m, _) in &targets {
            if build(m, false)?.capabilities().thinking == Thinking::OnRequest {
                extra.push((m.clone(), true));
            }
        }
        targets.extend(extra);
    }

    let per_row = scenarios().len() + if native { 2 * MEDIA.len() + 2 } else { 0 };
    let total = targets.len() * 2 * per_row;
    let mut rows = Vec::new();
    let mut done_rows = 0;
    for (name, thinking) in &targets {
        let model = build(name, *thinking)?;
        let always = model.capabilities().thinking == Thinking::Always;
        for streaming in [false, true] {
            let mode = Mode {
                streaming,
                thinking: *thinking || always,
            };
            let base = done_rows * per_row;
            let mut progress = |p: Progress| {
                let done = base + p.done;
                let width = 30;
                let filled = (done * width).checked_div(total).unwrap_or(0);
                let _ = write!(
                    std::io::stderr(),
                    "\r[{}{}] {done}/{total} {} {} {:<24}",
                    "=".repeat(filled),
                    " ".repeat(width - filled),
                    p.model,
                    mode.symbols(),
                    p.scenario
                );
            };
            let mut row = probe_with(model.as_ref(), mode, &options, &mut progress).await;
            if native {
                let base = replay.as_ref().map(Replay::url).or(args.base_url.clone());
                let (poll, wait) = match replay {
                    Some(_) => (Duration::ZERO, Duration::from_secs(60)),
                    None => (
                        Duration::from_secs(10),
                        Duration::from_secs(args.batch_wait),
                    ),
                };
                (row.batch, row.file) =
                    storage_cells(&args.provider, base.as_deref(), name, *thinking, poll, wait)
                        .await;
            }
            rows.push(row);
            done_rows += 1;
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "\r[{}] {total}/{total} done{}",
        "=".repeat(30),
        " ".repeat(40)
    );
    let table = Table { rows };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&table.json()).map_err(|e| e.to_string())?
        );
    } else if native {
        print!("{}", table.markdown_2026());
    } else {
        print!("{}", table.markdown());
    }
    drop(replay);
    Ok(())
}

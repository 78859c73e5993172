//! An image from a prompt with Black Forest Labs' FLUX: the job submitted,
//! its progress shown as it is polled, the image streamed into a file.
//!
//! ```text
//! cargo run -p typecall-examples --example generate_media -- [--model flux-dev] [--out DIR] "a prompt"
//! cargo run -p typecall-examples --example generate_media -- --replay ../shared/recordings/bfl/flux-dev/GenDoc-Image.json
//! ```
//!
//! Live with `BFL_API_KEY`; `--replay FILE` answers from a recorded job
//! instead (no key: its recorded model, prompt and seed are sent).

use std::path::PathBuf;

use futures_util::StreamExt;
use typecall::Model;
use typecall::chat::{ChatRequest, MediaOutput, Message, StreamEvent};
use typecall::provider::{Bfl, RetryPolicy};
use typecall::testing::{Interaction, Replay};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("generate_media: {e}");
        eprintln!("usage: generate_media [--model NAME] [--out DIR] [--replay FILE] [PROMPT]");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let (mut model, mut out, mut replay_file, mut prompt) =
        ("flux-dev".to_owned(), PathBuf::from("."), None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--model" => model = value("--model")?,
            "--out" => out = PathBuf::from(value("--out")?),
            "--replay" => replay_file = Some(value("--replay")?),
            _ if a.starts_with("--") => return Err(format!("unknown argument {a}")),
            _ => prompt = Some(a),
        }
    }
    let mut seed = None;
    let _replay; // kept alive while the job runs
    let client = match &replay_file {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let recorded: Vec<Interaction> = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| serde_json::from_value(v["interactions"].clone()).ok())
                .ok_or(format!("{file}: not a recording"))?;
            let submit = recorded.first().ok_or(format!("{file}: empty"))?;
            let body = submit.request.body.clone().unwrap_or_default();
            model = submit
                .request
                .url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            prompt = body["prompt"].as_str().map(str::to_owned);
            seed = body["seed"].as_i64();
            let server = Replay::from_interactions(recorded).map_err(|e| e.to_string())?;
            let c = Bfl::new("replay")
                .base_url(format!("{}/v1", server.url()))
                .retry(RetryPolicy::none())
                .poll_every(std::time::Duration::ZERO);
            _replay = server;
            c
        }
        None => Bfl::from_env().map_err(|e| e.to_string())?,
    };
    let prompt = prompt.ok_or("a prompt is needed")?;
    let mut ask = ChatRequest::new(vec![Message::user(prompt)]).media_output(MediaOutput::image());
    ask.seed = seed;
    let flux = client.model(&model);
    let mut events = flux.stream(&ask).await.map_err(|e| e.to_string())?;
    while let Some(event) = events.next().await {
        match event.map_err(|e| e.to_string())? {
            StreamEvent::Progress { status, fraction } => match fraction {
                Some(f) => eprintln!("{model}: {status} {:.0}%", f * 100.0),
                None => eprintln!("{model}: {status}"),
            },
            StreamEvent::Done(answer) => {
                for (i, media) in answer.media.iter().enumerate() {
                    let path = out.join(format!("{model}-{i}.{}", media.extension()));
                    let file = std::fs::File::create(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    let n = media
                        .write_to(std::io::BufWriter::new(file))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    println!("{} ({}, {n} bytes)", path.display(), media.media_type);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

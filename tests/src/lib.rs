//! Shared helpers for typecall's integration tests: where the recorded Cerebras
//! exchanges are, and how a test skips (saying so) when they are absent.

use std::path::{Path, PathBuf};

/// The recordings tree (`…/recordings`, holding `cerebras/`): `TYPECALL_RECORDINGS`
/// if set, else `../shared/recordings` beside the repository. `None` (after
/// printing that the caller skips) when absent.
pub fn recordings_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("TYPECALL_RECORDINGS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/recordings"),
    };
    if dir.join("cerebras").is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIPPED {test}: no recordings at {} (set TYPECALL_RECORDINGS)",
            dir.display()
        );
        None
    }
}

/// Says, past the test harness's output capture, that a test skipped and why.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Every `*.json` file below `dir`, sorted, as paths.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads and parses a recording file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub mod anthropic;
pub mod hostile;
pub mod replay;
pub mod scripted;

/// The local llama.cpp server's model (`TYPECALL_LOCAL_BASE_URL`, started by
/// `scripts/local-model start`), or `None` after saying the test skipped.
pub fn local_model(test: &str) -> Option<typecall::provider::OpenAiCompatModel> {
    match std::env::var("TYPECALL_LOCAL_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(
            typecall::OpenAiCompat::new(url.trim())
                .timeout(std::time::Duration::from_secs(120))
                .model(std::env::var("TYPECALL_LOCAL_MODEL").unwrap_or_else(|_| "smollm2".into()))
                .with_capabilities(typecall::provider::Capabilities::llama_cpp()),
        ),
        _ => {
            skip(
                test,
                "TYPECALL_LOCAL_BASE_URL is not set (scripts/local-model start)",
            );
            None
        }
    }
}

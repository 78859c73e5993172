//! The 2026 scoreboards of the native providers, rebuilt offline from the
//! recordings: at least the public table cell by cell (every symbol a public
//! cell shows is shown) for every recorded model, and a snapshot of the
//! rendered tables; the exceptions are listed (`NOT_SPOKEN`) with why.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use typecall::scoreboard::{
    Mode, ProbeOptions, Table, media_in_recordings, models_in_recordings, probe_with,
};
use typecall::testing::Replay;
use typecall_examples::{native_model, storage_cells};
use typecall_tests::{markdown_table_rows, recordings_dir, skip};

/// The (provider, model, column) cells typecall does not earn yet, whatever
/// the public table shows (an empty model is every model); the README says
/// why for each.
const NOT_SPOKEN: [(&str, &str, &str); 20] = [
    // OpenAI's Files API: not spoken, nothing of it recorded but the batch
    // upload. One batch is recorded, gpt-5.6-luna's: a replay answers it
    // once.
    ("openai", "", "File"),
    ("openai", "gpt-5.6-terra", "Batch"),
    ("openai-responses", "gpt-5.6-terra", "Batch"),
    // groq/compound-mini searches on its own, unasked; the web-search
    // scenario sends a search tool, which it refuses (as recorded).
    ("groq", "compound", "Tool"),
    // Hugging Face's Qwen3 models end a tool call with `finish_reason:
    // "stop"` (Qwen3-4B always, Qwen3-Coder when streaming), as recorded.
    // The public table's Finish leaves that turn out (its Tool is ❌: the
    // conversation's second turn was never recorded); typecall's counts it
    // and reports the finish the server sent.
    ("huggingface", "Qwen3", "Finish"),
    // DashScope: no TopLogprobs exchange is recorded (the public table shows
    // ✅ from a run not in the tree), and its web search (`enable_search`,
    // sent and answered as recorded) leaves no trace in the answer, so
    // nothing shows that a search ran; typecall shows 🕸️ only for a search
    // the answer reports.
    ("alibaba", "", "Probs"),
    ("alibaba", "", "Tool:🕸️"),
    ("alibaba-us", "", "Probs"),
    ("alibaba-us", "", "Tool:🕸️"),
    // Perplexity cites the web pages it searched, not a supplied document:
    // every recorded Citations exchange (search off, as recorded) answers
    // `"citations": []`. typecall refuses a document asked to be cited
    // there, and gives the pages of a search as web citations.
    ("perplexity", "", "Cite"),
    // Xiaomi: every recorded tool exchange asks `tool_choice: "auto"`;
    // nothing recorded shows a forced call (🪨).
    ("xiaomi", "", "Tool:🪨"),
    // Cloudflare's Llama 3.2/3.3 call square_root with the number as a
    // string (`{"number": "132413"}`, as recorded), which the tool's schema
    // refuses; the public table counts the call.
    ("cloudflare", "llama-3.2", "Tool"),
    ("cloudflare", "llama-3.3", "Tool"),
    // deepseek-r1 on Workers AI is cut at its default 256 tokens while still
    // thinking (every recorded text answer): no answer text comes, and the
    // answers read as cut (Length), where the public table counts the
    // thinking as text and the probe expects a stop.
    ("cloudflare", "deepseek-r1", "➛In"),
    ("cloudflare", "deepseek-r1", "Out➛"),
    ("cloudflare", "deepseek-r1", "Finish"),
    // Black Forest Labs: its asynchronous jobs are typecall's image calls
    // (submitted, polled, fetched), not a batch of requests (none is
    // recorded); no recorded answer carries a rate-limit header; each model
    // made one seeded image, so nothing shows the same seed drawing the same
    // image again.
    ("bfl", "", "Batch"),
    ("bfl", "", "Limits"),
    ("bfl", "", "Text"),
    // Pollinations' flux: one seeded picture, as for BFL.
    ("pollinations", "flux", "Text"),
];

async fn replayed(provider: &str, dir: &Path) -> Table {
    let replay = Replay::from_dir(dir).unwrap();
    let url = replay.url();
    let mut options = ProbeOptions::extended(1);
    if provider == "huggingface" {
        options = options.with_switch_in_prompt();
    }
    if matches!(provider, "xiaomi" | "ollama") {
        options = options.with_media_in_own_message();
    }
    for (media_type, data) in media_in_recordings(dir).unwrap() {
        options = options.with_media(media_type, data);
    }
    // OpenAI's Batch API serves its chat and Responses models alike; its
    // recordings are with the chat ones.
    let openai = dir.with_file_name("openai");
    let storage = match provider {
        "openai-responses" if openai.is_dir() => Replay::from_dir(openai).unwrap(),
        _ => Replay::from_dir(dir).unwrap(),
    };
    let mut rows = Vec::new();
    for (name, thinking) in models_in_recordings(dir).unwrap() {
        let model = native_model(provider, Some(&url), &name, thinking).unwrap();
        // Batches and files are the model's, not a mode's: asked once.
        let (batch, file) = storage_cells(
            provider,
            Some(&storage.url()),
            &name,
            thinking,
            Duration::ZERO,
            Duration::from_secs(60),
        )
        .await;
        for streaming in [false, true] {
            let mode = Mode {
                streaming,
                thinking,
            };
            let mut row = probe_with(model.as_ref(), mode, &options, &mut |_| {}).await;
            (row.batch, row.file) = (batch, file);
            rows.push(row);
        }
    }
    Table { rows }
}

/// The public table's rows, each cell by column name; model names without
/// the ranking medals.
fn public_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = markdown_table_rows(&text);
    for row in &mut rows {
        if let Some(model) = row.get_mut("Model") {
            *model = model.trim_end_matches(['🥇', '🥈', '🥉']).to_owned();
        }
    }
    rows
}

/// A cell's symbols (an emoji with its variation selector is one symbol).
fn symbols(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cell.chars() {
        match (c, out.last_mut()) {
            ('\u{fe0f}', Some(last)) => last.push(c),
            _ => out.push(c.to_string()),
        }
    }
    out.into_iter().filter(|s| s != "❌").collect()
}

async fn check(provider: &str, folder: &str) -> Option<Table> {
    let root = recordings_dir(&format!("{provider} scoreboard"))?;
    let dir = root.join(folder);
    if !dir.is_dir() {
        skip(&format!("{provider} scoreboard"), "no recordings");
        return None;
    }
    let table = replayed(provider, &dir).await;
    let ours: BTreeMap<(String, String), BTreeMap<&str, String>> = table
        .rows
        .iter()
        .map(|r| {
            let cells = r.cells_2026();
            let header = [
                "Model", "Mode", "➛In", "Out➛", "Tool", "JSON", "Batch", "File", "Cite", "Text",
                "Probs", "Limits", "Usage", "Finish",
            ];
            let by_col: BTreeMap<&str, String> = header.into_iter().zip(cells).collect();
            ((by_col["Model"].clone(), by_col["Mode"].clone()), by_col)
        })
        .collect();
    let mut compared = 0;
    let mut failures = Vec::new();
    for public in public_rows(&dir.join("public-scoreboard.md")) {
        let key = (public["Model"].clone(), public["Mode"].clone());
        let Some(row) = ours.get(&key) else {
            continue; // not recorded here (or not measured: `?`)
        };
        compared += 1;
        for (column, theirs) in &public {
            let excused = NOT_SPOKEN
                .iter()
                .any(|(p, m, c)| *p == provider && key.0.contains(m) && c == column);
            if matches!(column.as_str(), "Model" | "Mode" | "") || excused {
                continue;
            }
            let mine = &row[column.as_str()];
            for symbol in symbols(theirs) {
                // An entry `Column:symbol` excuses that symbol alone.
                let this_symbol = format!("{column}:{symbol}");
                if NOT_SPOKEN
                    .iter()
                    .any(|(p, m, c)| *p == provider && key.0.contains(m) && *c == this_symbol)
                {
                    continue;
                }
                // ✅ free-form and schema JSON includes each alone.
                // ✅ is better than 💨 (flaky) in any column.
                let covered = mine.contains(&symbol)
                    || (symbol == "💨" && mine.contains('✅'))
                    || (column == "JSON" && mine == "✅" && matches!(symbol.as_str(), "📐" | "☁️"));
                if !covered {
                    failures.push(format!(
                        "{} {} {column}: public {theirs}, typecall {mine}",
                        key.0, key.1
                    ));
                }
            }
        }
    }
    if std::env::var_os("SCOREBOARD_DIFF").is_some() {
        println!("{provider}:\n{}", failures.join("\n"));
        return Some(table);
    }
    assert!(failures.is_empty(), "{provider}:\n{}", failures.join("\n"));
    assert!(compared >= 2, "{provider}: only {compared} rows compared");
    Some(table)
}

/// Compares the rendered table with its snapshot
/// (`tests/snapshots/scoreboard-2026-NAME.md`), restricted to the models the
/// snapshot holds, so that a tree with more models still passes; writes the
/// snapshot when it is absent or `UPDATE_SNAPSHOTS=1`.
fn snapshot(name: &str, table: Table) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("scoreboard-2026-{name}.md"));
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    match std::fs::read_to_string(&path) {
        Ok(saved) if !update => {
            let models: Vec<String> = saved
                .lines()
                .skip(2)
                .filter_map(|l| l.split('|').nth(1))
                .map(|m| m.trim().to_owned())
                .collect();
            let rows = table
                .rows
                .into_iter()
                .filter(|r| models.contains(&r.model))
                .collect();
            assert_eq!(
                Table { rows }.markdown_2026(),
                saved,
                "{name}: the table changed (UPDATE_SNAPSHOTS=1 to accept)"
            );
        }
        _ => {
            std::fs::write(&path, table.markdown_2026()).unwrap();
            println!("wrote {}", path.display());
        }
    }
}

#[tokio::test]
async fn the_replayed_anthropic_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("anthropic", "anthropic").await {
        snapshot("anthropic", table);
    }
}

#[tokio::test]
async fn the_replayed_gemini_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("gemini", "gemini").await {
        snapshot("gemini", table);
    }
}

#[tokio::test]
async fn the_replayed_openai_responses_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("openai-responses", "openai-responses").await {
        snapshot("openai-responses", table);
    }
}

#[tokio::test]
async fn the_replayed_ollama_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("ollama", "ollama").await {
        snapshot("ollama", table);
    }
}

#[tokio::test]
async fn the_replayed_cohere_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("cohere", "cohere").await {
        snapshot("cohere", table);
    }
}

#[tokio::test]
async fn the_replayed_bfl_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("bfl", "bfl").await {
        snapshot("bfl", table);
    }
}

#[tokio::test]
async fn the_replayed_cloudflare_scoreboard_is_at_least_the_public_one() {
    if let Some(table) = check("cloudflare", "cloudflare").await {
        snapshot("cloudflare", table);
    }
}

#[tokio::test]
async fn the_replayed_vendor_scoreboards_are_at_least_the_public_ones() {
    for (provider, folder) in [
        ("openai", "openai"),
        ("mistral", "mistral"),
        ("groq", "groq"),
        ("deepseek", "deepseek"),
        ("openrouter", "openrouter"),
        ("together", "togetherai"),
        ("llama-cpp", "llamacpp"),
        ("baseten", "baseten"),
        ("huggingface", "huggingface"),
        ("alibaba", "alibaba"),
        ("alibaba-us", "alibaba-us"),
        ("perplexity", "perplexity"),
        ("xiaomi", "xiaomi"),
        ("pollinations", "pollinations"),
    ] {
        if let Some(table) = check(provider, folder).await {
            snapshot(provider, table);
        }
    }
}

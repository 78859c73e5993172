//! The scoreboard rebuilt offline from the recordings, compared cell by cell
//! with the public one; its rendering; and a row for the local model.

use std::collections::BTreeMap;

use typecall::Cerebras;
use typecall::provider::{Model, RetryPolicy, Support};
use typecall::scoreboard::{Cell, Mode, Row, Table, models_in_recordings, probe};
use typecall::testing::Replay;
use typecall_tests::{local_model, markdown_table_rows, recordings_dir};

async fn replayed_table() -> Option<Table> {
    let dir = recordings_dir("scoreboard replay")?.join("cerebras");
    let replay = Replay::from_dir(&dir).unwrap();
    let client = Cerebras::new("replay")
        .base_url(replay.url())
        .retry(RetryPolicy::none());
    let mut rows = Vec::new();
    for (name, thinking) in models_in_recordings(&dir).unwrap() {
        let model = client.model(&name);
        for streaming in [false, true] {
            rows.push(
                probe(
                    &model,
                    Mode {
                        streaming,
                        thinking,
                    },
                )
                .await,
            );
        }
    }
    Some(Table { rows })
}

/// A row of the public table: its cells by column name.
fn public_rows() -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/public-scoreboard.md"
    ))
    .unwrap();
    markdown_table_rows(&text)
}

fn cell(row: &Row, column: &str) -> Cell {
    match column {
        "JSON" => row.json,
        "Schema" => row.schema,
        "Tool" => row.tool,
        "Batch" => row.batch,
        "File" => row.file,
        "Cite" => row.cite,
        "Probs" => row.probs,
        "Limits" => row.limits,
        "Usage" => row.usage,
        "Finish" => row.finish,
        other => panic!("no column {other}"),
    }
}

const COLUMNS: [&str; 10] = [
    "JSON", "Schema", "Tool", "Batch", "File", "Cite", "Probs", "Limits", "Usage", "Finish",
];

#[tokio::test]
async fn the_replayed_scoreboard_is_at_least_the_public_one_cell_by_cell() {
    let Some(table) = replayed_table().await else {
        return;
    };
    let dir = recordings_dir("scoreboard replay")
        .unwrap()
        .join("cerebras");
    let recorded = models_in_recordings(&dir).unwrap();
    assert_eq!(
        table.rows.len(),
        recorded.len() * 2,
        "a row per recorded model and mode"
    );

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("## Scoreboard")
        .nth(1)
        .expect("README has a Scoreboard section");
    let mut compared = 0;
    let mut better = Vec::new();
    for public in public_rows() {
        let model = &public["Model"];
        let mode = &public["Mode"];
        let streaming = mode.contains('📡');
        let thinking = mode.contains('🧠');
        let Some(ours) = table
            .rows
            .iter()
            .find(|r| &r.model == model && r.mode.streaming == streaming)
        else {
            assert!(
                !recorded.iter().any(|(m, _)| m == model),
                "{model} is recorded but has no row"
            );
            continue;
        };
        assert_eq!(ours.mode.thinking, thinking, "{model} {mode}");
        for column in COLUMNS {
            let theirs = Cell::from_symbol(&public[column])
                .unwrap_or_else(|| panic!("{model} {column}: {}", public[column]));
            let mine = cell(ours, column);
            if theirs == Cell::Works {
                assert_eq!(
                    mine,
                    Cell::Works,
                    "{model} {mode} {column}: public ✅, typecall {}: {:?}",
                    mine.symbol(),
                    ours.notes
                );
            }
            if ["Batch", "File", "Cite"].contains(&column) {
                assert_eq!(
                    mine,
                    Cell::No,
                    "{model} {column} is not probed and must not be guessed"
                );
            }
            if mine == Cell::Works && theirs != Cell::Works {
                better.push(format!("{model} {mode} {column}"));
                assert!(
                    section.contains(model.as_str()) && section.contains(column),
                    "README's Scoreboard section must say why {model} {column} is ✅ here"
                );
            }
        }
        let text = &public["Text"];
        let ours_text = ours.text.symbols();
        for symbol in ["🌱", "📏", "🛑"] {
            if text.contains(symbol) {
                assert!(
                    ours_text.contains(symbol),
                    "{model} {mode}: public shows {symbol}, typecall {ours_text}"
                );
            }
        }
        compared += 1;
    }
    assert!(compared >= 14, "compared {compared} rows");
    // A probed row gives capabilities in the terms `output` and `agent` use.
    let caps = table
        .rows
        .iter()
        .find(|r| r.model == "llama3.1-8b" && !r.mode.streaming)
        .unwrap()
        .capabilities();
    assert_eq!(
        (caps.json_schema, caps.tools, caps.stop),
        (Support::Yes, Support::Yes, Support::Yes)
    );
    assert!(!better.is_empty());
    println!("better than the public scoreboard: {better:#?}");
    insta::assert_snapshot!("replayed_scoreboard", table.markdown());
}

#[tokio::test]
async fn the_json_form_round_trips() {
    let Some(table) = replayed_table().await else {
        return;
    };
    let back: Table = serde_json::from_value(table.json()).unwrap();
    assert_eq!(back, table);
}

#[test]
fn the_capability_table_agrees_with_the_public_scoreboard() {
    let cerebras = Cerebras::new("k");
    for public in public_rows() {
        let caps = cerebras.model(&public["Model"]).capabilities();
        let model = &public["Model"];
        match Cell::from_symbol(&public["Tool"]).unwrap() {
            Cell::Flaky => assert_eq!(caps.tools, Support::Flaky, "{model}"),
            Cell::Works if public["Mode"].contains("🕰️") => {
                assert_eq!(caps.tools, Support::Yes, "{model}")
            }
            _ => {}
        }
        // Where the public table says JSON works, the table says so; typecall
        // also makes gpt-oss-120b's work (see the README).
        if Cell::from_symbol(&public["JSON"]) == Some(Cell::Works) {
            assert_eq!(caps.json_mode, Support::Yes, "{model}");
            assert_eq!(caps.json_schema, Support::Yes, "{model}");
        }
        assert!(caps.seed.is_usable() && caps.max_tokens.is_usable() && caps.logprobs.is_usable());
        if !public["Text"].contains('🛑') {
            assert_ne!(
                caps.stop,
                Support::Yes,
                "{model}: the public table has no 🛑"
            );
        }
    }
}

#[tokio::test]
async fn the_local_model_gets_a_row() {
    let Some(model) = local_model("local scoreboard row") else {
        return;
    };
    let row = probe(&model, Mode::blocking()).await;
    println!(
        "{}",
        Table {
            rows: vec![row.clone()]
        }
        .markdown()
    );
    assert!(row.text_works, "{:?}", row.notes);
    assert_eq!(row.usage, Cell::Works);
    assert_eq!(row.probs, Cell::Works);
    assert!(row.text.seed && row.text.max_tokens, "{:?}", row.notes);
    // A 135M model is not held to the right answer (is_fruit: true), only to
    // the request being accepted and answered.
    assert_ne!(row.schema, Cell::No, "{:?}", row.notes);
}

/// The local llama.cpp server through the llama.cpp vendor preset (no model
/// name, `n_predict`, its cache and template switches), probed with the 2026
/// scenarios: a row in the public llama.cpp table's format.
#[tokio::test]
async fn the_local_llama_cpp_server_gets_a_2026_row_through_its_preset() {
    use typecall::scoreboard::{ProbeOptions, probe_with};
    let Ok(url) = std::env::var("TYPECALL_LOCAL_BASE_URL") else {
        typecall_tests::skip(
            "local llama.cpp 2026 row",
            "TYPECALL_LOCAL_BASE_URL is not set (scripts/local-model start)",
        );
        return;
    };
    let name = std::env::var("TYPECALL_LOCAL_MODEL").unwrap_or_else(|_| "smollm2".into());
    let model =
        typecall_examples::native_model("llama-cpp", Some(url.trim()), &name, false).unwrap();
    let row = probe_with(
        model.as_ref(),
        Mode::blocking(),
        &ProbeOptions::extended(1),
        &mut |_| {},
    )
    .await;
    let table = Table {
        rows: vec![row.clone()],
    };
    println!("{}", table.markdown_2026());
    assert!(row.text_works, "{:?}", row.notes);
    assert_eq!(row.usage, Cell::Works, "{:?}", row.notes);
    assert!(
        row.text.max_tokens,
        "n_predict was honoured: {:?}",
        row.notes
    );
    assert_eq!(row.probs, Cell::Works, "{:?}", row.notes);
    // No network here: media by URL cannot be fetched; nothing may crash.
    assert!(!row.web_search);
}

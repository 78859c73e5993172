//! The same provider paths against the live Cerebras API, when
//! `CEREBRAS_API_KEY` is set (skipped, saying so, otherwise).

use typecall::Cerebras;
use typecall::chat::{ChatRequest, FinishReason, Message};
use typecall::provider::{Model, collect};

fn live() -> Option<Cerebras> {
    match Cerebras::from_env() {
        Ok(c) => Some(c),
        Err(_) => {
            typecall_tests::skip("live Cerebras tests", "CEREBRAS_API_KEY is not set");
            None
        }
    }
}

#[tokio::test]
async fn live_models_answer_blocking_and_streaming() {
    let Some(cerebras) = live() else { return };
    let models = cerebras.list_models().await.expect("GET /v1/models");
    assert!(!models.is_empty());
    let name = ["gpt-oss-120b", "gemma-4-31b", "zai-glm-4.7"]
        .into_iter()
        .find(|n| models.iter().any(|m| m.id == *n))
        .map(str::to_owned)
        .unwrap_or_else(|| models[0].id.clone());
    let model = cerebras.model(&name);
    let req =
        ChatRequest::new(vec![Message::user("Say hello. Use only one word.")]).max_tokens(512);
    let sync = model.chat(&req).await.expect("blocking chat");
    assert!(sync.usage.total_tokens > 0);
    assert!(!sync.rate_limits.is_empty());
    let streamed = collect(model.stream(&req).await.expect("stream"))
        .await
        .expect("stream completes");
    assert!(streamed.usage.total_tokens > 0);
    assert!(matches!(
        streamed.finish_reason,
        FinishReason::Stop | FinishReason::Length
    ));
}

/// The served models, once (the catalog is read at run time).
async fn live_model_name(cerebras: &Cerebras) -> String {
    let models = cerebras.list_models().await.expect("GET /v1/models");
    ["gpt-oss-120b", "gemma-4-31b", "zai-glm-4.7"]
        .into_iter()
        .find(|n| models.iter().any(|m| m.id == *n))
        .map(str::to_owned)
        .unwrap_or_else(|| models[0].id.clone())
}

#[tokio::test]
async fn live_extraction_decodes_a_typed_value() {
    let Some(cerebras) = live() else { return };
    let model = cerebras.model(live_model_name(&cerebras).await);
    let fruit: typecall_tests::Fruit = typecall::extract(&model, "Is a banana a fruit?")
        .await
        .expect("extraction");
    assert!(fruit.is_fruit);
}

/// Calculates and return the square root of a number
#[typecall::tool]
fn square_root(number: f64) -> String {
    format!("{:.2}", number.sqrt())
}

#[tokio::test]
async fn live_agent_calls_the_tool_and_answers() {
    let Some(cerebras) = live() else { return };
    let model = cerebras.model(live_model_name(&cerebras).await);
    let run = typecall::Agent::new(model)
        .tool(SquareRoot)
        .first_tool_choice(typecall::chat::ToolChoice::Required)
        .max_turns(4)
        .run("Use the square_root tool to calculate the square root of 132413 and reply with only the result.")
        .await
        .expect("agent run");
    assert!(
        run.tool_calls()
            .iter()
            .any(|c| c.result.as_deref() == Ok("363.89"))
    );
    assert!(run.text().contains("363"), "{}", run.text());
}

#[tokio::test]
async fn live_scoreboard_row() {
    let Some(cerebras) = live() else { return };
    let model = cerebras.model(live_model_name(&cerebras).await);
    let row = typecall::scoreboard::probe(&model, typecall::scoreboard::Mode::blocking()).await;
    println!(
        "{}",
        typecall::scoreboard::Table {
            rows: vec![row.clone()]
        }
        .markdown()
    );
    assert!(row.text_works, "{:?}", row.notes);
    assert_eq!(row.usage, typecall::scoreboard::Cell::Works);
    assert_eq!(row.limits, typecall::scoreboard::Cell::Works);
}

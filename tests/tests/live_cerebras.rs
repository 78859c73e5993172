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

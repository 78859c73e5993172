//! The native providers against their live APIs, each when its key is set
//! (`ANTHROPIC_API_KEY`, `GEMINI_API_KEY`, `OPENAI_API_KEY`, `COHERE_API_KEY`;
//! skipped, saying so, otherwise): a blocking and a streamed answer, an agent
//! that calls a tool, and a typed extraction. Models from
//! `TYPECALL_ANTHROPIC_MODEL`, `TYPECALL_GEMINI_MODEL`, `TYPECALL_OPENAI_MODEL`,
//! `TYPECALL_COHERE_MODEL` (defaults: the cheapest recorded ones).

use std::sync::Arc;

use typecall::chat::{ChatRequest, Message};
use typecall::provider::{Model, collect};
use typecall::{Agent, Anthropic, Extract, Gemini, OpenAiResponses};
use typecall_tests::{Fruit, SquareRoot};

fn live_models() -> Vec<(&'static str, Arc<dyn Model>)> {
    let name = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.into());
    let mut out: Vec<(&'static str, Arc<dyn Model>)> = Vec::new();
    match Anthropic::from_env() {
        Ok(c) => out.push((
            "anthropic",
            Arc::new(c.model(name(
                "TYPECALL_ANTHROPIC_MODEL",
                "claude-haiku-4-5-20251001",
            ))),
        )),
        Err(_) => typecall_tests::skip("live Anthropic tests", "ANTHROPIC_API_KEY is not set"),
    }
    match Gemini::from_env() {
        Ok(c) => out.push((
            "gemini",
            Arc::new(c.model(name("TYPECALL_GEMINI_MODEL", "gemini-flash-lite-latest"))),
        )),
        Err(_) => typecall_tests::skip("live Gemini tests", "GEMINI_API_KEY is not set"),
    }
    match OpenAiResponses::from_env() {
        Ok(c) => out.push((
            "openai_responses",
            Arc::new(c.model(name("TYPECALL_OPENAI_MODEL", "gpt-5.6-luna"))),
        )),
        Err(_) => typecall_tests::skip("live OpenAI Responses tests", "OPENAI_API_KEY is not set"),
    }
    match typecall::provider::Cohere::from_env() {
        Ok(c) => out.push((
            "cohere",
            Arc::new(c.model(name("TYPECALL_COHERE_MODEL", "command-r7b-12-2024"))),
        )),
        Err(_) => typecall_tests::skip("live Cohere tests", "COHERE_API_KEY is not set"),
    }
    out
}

#[tokio::test]
async fn live_native_models_answer_call_tools_and_extract() {
    for (provider, model) in live_models() {
        let req = ChatRequest::new(vec![Message::user("Say hello. Use only one word.")]);
        let sync = model
            .chat(&req)
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(
            !sync.text().is_empty() && sync.usage.total_tokens > 0,
            "{provider}"
        );
        let streamed = collect(model.stream(&req).await.unwrap())
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(!streamed.text().is_empty(), "{provider}");
        let run = Agent::from_arc(model.clone())
            .tool(SquareRoot)
            .max_turns(4)
            .run("Use the square_root tool to calculate the square root of 132413 and reply with only the result.")
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(
            run.tool_calls()
                .iter()
                .any(|c| c.result.as_deref() == Ok("363.89")),
            "{provider}"
        );
        assert!(run.text().contains("363"), "{provider}: {}", run.text());
        let fruit = Extract::<Fruit>::new(&model)
            .run("Is a banana a fruit?")
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(fruit.value.is_fruit, "{provider}");
    }
}

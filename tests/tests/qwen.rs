//! The demo's agent and extraction on Qwen2.5-Coder-0.5B-Instruct, the local
//! model `scripts/demo` uses (`scripts/local-model start qwen`): the answers a
//! newcomer sees are right, not only valid. Skipped, saying so, without
//! `TYPECALL_QWEN_BASE_URL`.

use typecall::provider::{Model, OpenAiCompatModel};
use typecall::{OpenAiCompat, ToolMode};
use typecall_examples::ticket::{self, Priority, TEXT};
use typecall_examples::weather;
use typecall_tests::skip;

/// One test at a time: the server answers ~8 tokens/s on two cores, and
/// batching changes the numerics of seeded answers.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn qwen(test: &str) -> Option<OpenAiCompatModel> {
    match std::env::var("TYPECALL_QWEN_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(
            OpenAiCompat::new(url.trim())
                .timeout(std::time::Duration::from_secs(300))
                .model("qwen"),
        ),
        _ => {
            skip(
                test,
                "TYPECALL_QWEN_BASE_URL is not set (scripts/local-model start qwen)",
            );
            None
        }
    }
}

#[tokio::test]
async fn the_demo_agent_calls_the_right_tool_and_answers_with_its_result() {
    let Some(model) = qwen("qwen agent") else {
        return;
    };
    let _one_at_a_time = SERVER.lock().await;
    // The demo's agent exactly.
    // Nothing declared: the client finds out it talks to llama.cpp.
    model.discover().await;
    let agent = weather::agent(std::sync::Arc::new(model));
    assert_eq!(agent.effective_tool_mode(), ToolMode::Constrained);
    let run = agent
        .run("How warm is it in Nice right now?")
        .await
        .unwrap();
    let calls = run.tool_calls();
    assert_eq!(calls.len(), 1, "{:#?}", run.turns);
    assert_eq!(calls[0].call.name, "temperature");
    assert_eq!(calls[0].result.as_deref(), Ok("21.5"));
    assert!(run.text().contains("21.5"), "{}", run.text());
}

#[tokio::test]
async fn the_demo_extraction_gives_the_right_ticket() {
    let Some(model) = qwen("qwen extraction") else {
        return;
    };
    let _one_at_a_time = SERVER.lock().await;
    // The demo's extraction exactly.
    let out = ticket::extraction(&model, true).run(TEXT).await.unwrap();
    let t = out.value;
    assert!(matches!(t.priority, Priority::High), "{t:?}");
    let minutes: Vec<u16> = t.steps.iter().map(|s| s.minutes).collect();
    assert_eq!(minutes, [5, 2], "{t:?}");
    assert!(t.assignee.is_none(), "{t:?}");
    assert!(t.title.to_lowercase().contains("printer"), "{t:?}");
}

/// The demo's streamed agent, 20 times in a row: every run ends with the
/// answer (a server that went away, or a pooled connection it closed, once
/// failed half of the demo's runs).
#[tokio::test]
async fn the_demo_streamed_agent_succeeds_twenty_times_in_a_row() {
    use futures_util::StreamExt;
    let Some(model) = qwen("qwen streamed agent x20") else {
        return;
    };
    let _one_at_a_time = SERVER.lock().await;
    let agent = weather::agent(std::sync::Arc::new(model));
    for attempt in 0..20 {
        let mut events = agent.run_stream(weather::QUESTION).await.unwrap();
        let mut done = None;
        while let Some(event) = events.next().await {
            match event {
                Ok(typecall::AgentEvent::Done(run)) => done = Some(run),
                Ok(_) => {}
                Err(e) => panic!("run {attempt} failed: {e}"),
            }
        }
        let run = done.unwrap_or_else(|| panic!("run {attempt} ended without Done"));
        assert_eq!(
            run.tool_calls()[0].result.as_deref(),
            Ok("21.5"),
            "run {attempt}"
        );
    }
}

/// A constrained decision on llama.cpp goes on from the fence its opening
/// wrote (a last assistant message), as typecall's agents send it: the model
/// writes what it would have written whole after the fence, with
/// probabilities that differ only by how the server computed them (the
/// prompt's last token read with the prompt rather than again on its own),
/// and the fence is not written twice.
#[tokio::test]
async fn llama_cpp_goes_on_from_an_opened_fence_as_if_it_had_written_it() {
    use serde_json::json;
    use typecall::chat::{ChatRequest, Message, ResponseFormat};
    let Some(model) = qwen("qwen decision from its fence") else {
        return;
    };
    let _one_at_a_time = SERVER.lock().await;
    model.discover().await;
    let system = "You may call functions:\n<tools>\n{\"name\": \"temperature\", \"description\": \
        \"The temperature in a city now.\", \"parameters\": {\"type\": \"object\", \"properties\": \
        {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}\n</tools>\n\nFor function \
        calls, return a JSON list of calls: [{\"name\": <function-name>, \"arguments\": \
        <args-json-object>}].";
    let asked = ChatRequest::new(vec![
        Message::system(system),
        Message::user("How warm is it in Nice and in Oslo right now?"),
    ])
    .temperature(0.0)
    .seed(1);
    let calls = json!({"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string", "enum": ["temperature"]},
        "arguments": {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}},
        "required": ["name", "arguments"]}});
    let decision = asked
        .clone()
        .response_format(ResponseFormat::JsonSchema {
            name: "calls".into(),
            schema: calls,
            strict: false,
        })
        .logprobs(1)
        .reuse_prompt(true);
    // The opening, read afresh each time; the decision starts from it.
    let opening_request = asked.clone().max_tokens(2);
    let opening = || model.chat(&opening_request);
    assert_eq!(opening().await.unwrap().text(), "```json");
    let whole = model.chat(&decision).await.unwrap();
    opening().await.unwrap();
    let continued = model
        .chat(&decision.clone().message(Message::assistant("```json")))
        .await
        .unwrap();

    let tokens = |r: &typecall::chat::ChatResponse| -> Vec<(String, f64)> {
        let all = r.logprobs.clone().unwrap_or_default();
        all.into_iter().map(|t| (t.token, t.logprob)).collect()
    };
    let (whole_tokens, continued_tokens) = (tokens(&whole), tokens(&continued));
    assert_eq!(
        whole_tokens
            .iter()
            .take(2)
            .map(|t| t.0.as_str())
            .collect::<Vec<_>>(),
        ["```", "json"],
        "{whole_tokens:?}"
    );
    let written = |t: &[(String, f64)]| t.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(written(&whole_tokens[2..]), written(&continued_tokens));
    for (w, c) in whole_tokens[2..].iter().zip(&continued_tokens) {
        assert!((w.1 - c.1).abs() < 0.1, "{w:?} against {c:?}");
    }
    assert_eq!(whole.text(), continued.text());
    assert!(continued.text().contains("Oslo"), "{}", continued.text());
}

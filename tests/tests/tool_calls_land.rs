//! Tool calls that land (issue 22): calls written as text are calls, a
//! required call is required, constrained mode shows the tools and bounds the
//! calls, tools defined at run time keep their names, loops stop, and an
//! OpenAI-compatible server says what it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use serde_json::{Value, json};
use typecall::agent::{AgentStop, Decision, ToolMode};
use typecall::chat::{Message, ResponseFormat, ToolChoice};
use typecall::provider::{Capabilities, Model, ServerKind, Support};
use typecall::testing::ScriptedModel;
use typecall::tool::FnTool;
use typecall::{Agent, AgentEvent, OpenAiCompat, tool};
use typecall_tests::hostile::{HostileServer, Reply};

/// Add a task to the to-do list.
#[tool]
fn add_task(
    /// What to do.
    title: String,
) -> String {
    format!("added {title}")
}

/// How warm it is in a city, in °C.
#[tool]
fn temperature(city: String) -> f64 {
    if city == "Nice" { 21.5 } else { 15.0 }
}

fn factorial(count: Arc<AtomicUsize>) -> FnTool {
    FnTool::new(
        "math.factorial",
        "The factorial of a number.",
        json!({"type": "object", "properties": {"number": {"type": "integer", "minimum": 0}}, "required": ["number"]}),
        move |args: Value| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                let n = args["number"].as_u64().ok_or("not a number")?;
                Ok::<_, String>(json!((1..=n).product::<u64>()))
            }
        },
    )
    .unwrap()
}

fn local_caps() -> Capabilities {
    let mut c = Capabilities::llama_cpp();
    c.tools = Support::Flaky;
    c
}

#[tokio::test]
async fn a_call_written_as_text_runs_and_is_never_the_final_answer() {
    for written in [
        "```json\n{\"name\": \"add_task\", \"arguments\": {\"title\": \"milk\"}}\n```",
        "<tool_call>\n{\"name\": \"add_task\", \"arguments\": {\"title\": \"milk\"}}\n</tool_call>",
        "Sure! {\"name\": \"add_task\", \"arguments\": {\"title\": \"milk\"}}",
    ] {
        let model = ScriptedModel::new().text(written).text("Added milk.");
        let run = Agent::new(model)
            .tool(AddTask)
            .tool_mode(ToolMode::Native)
            .run("Remember to buy milk.")
            .await
            .unwrap();
        assert_eq!(run.tool_calls().len(), 1, "{written}");
        assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("added milk"));
        assert_eq!(run.text(), "Added milk.");
    }
}

#[tokio::test]
async fn a_call_written_as_text_with_unreadable_arguments_gets_a_repair_round() {
    let model = ScriptedModel::new()
        .text(r#"{"name": "add_task", "arguments": ["milk"]}"#)
        .tool_call("add_task", json!({"title": "milk"}))
        .text("Added.");
    let run = Agent::new(model)
        .tool(AddTask)
        .tool_mode(ToolMode::Native)
        .run("Buy milk.")
        .await
        .unwrap();
    assert_eq!(run.turns().len(), 3);
    let repair = run.transcript.iter().find_map(|m| match m {
        Message::User { .. } if m.text().contains("could not be read") => Some(m.text()),
        _ => None,
    });
    assert!(repair.is_some(), "{:#?}", run.transcript);
    assert_eq!(run.tool_calls().len(), 1);
}

#[tokio::test]
async fn a_required_call_answered_with_text_is_a_typed_error() {
    let model = ScriptedModel::new().text("I would add it, but I will not.");
    let err = Agent::new(model)
        .tool(AddTask)
        .tool_mode(ToolMode::Native)
        .first_tool_choice(ToolChoice::Required)
        .run("Buy milk.")
        .await
        .unwrap_err();
    match err.into_run() {
        Ok((AgentStop::NoToolCall, run)) => assert_eq!(run.turns().len(), 1),
        e => panic!("expected NoToolCall, got {e:?}"),
    }
}

#[tokio::test]
async fn constrained_mode_shows_the_tools_bounds_the_calls_and_streams_only_the_answer() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_capabilities(local_caps())
            // The opening of a call, cut where the opening ends.
            .text("```json\n[{\"name\"")
            .text(r#"[{"name": "temperature", "arguments": {"city": "Nice"}}]"#)
            // Words open the second turn: no tool is called.
            .text("It is")
            .text("It is 21.5 °C in Nice."),
    );
    let agent = Agent::from_arc(model.clone())
        .system("Be brief.")
        .tool(Temperature)
        .max_parallel_tools(2);
    assert_eq!(agent.effective_tool_mode(), ToolMode::Constrained);
    let mut events = agent.run_stream("How warm is Nice?").await.unwrap();
    let mut text = String::new();
    let mut run = None;
    while let Some(ev) = events.next().await {
        match ev.unwrap() {
            AgentEvent::TextDelta(t) => text.push_str(&t),
            AgentEvent::Done(r) => run = Some(*r),
            _ => {}
        }
    }
    let run = run.expect("the run ends");
    assert_eq!(
        text, "It is 21.5 °C in Nice.",
        "only the answer streams as text"
    );
    assert_eq!(run.text(), "It is 21.5 °C in Nice.");
    assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("21.5"));
    // The decision turn's record holds no step JSON; the answer turn's text does.
    assert_eq!(run.turns[0].text, None);
    assert_eq!(
        run.turns.last().unwrap().text.as_deref(),
        Some("It is 21.5 °C in Nice.")
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 4, "opening, decision, opening, answer");
    let system = requests[0].messages[0].text();
    assert!(system.starts_with("Be brief."), "{system}");
    assert!(
        system.contains("<tools>") && system.contains("\"temperature\""),
        "{system}"
    );
    assert!(system.contains("How warm it is in a city"), "{system}");
    // The opening: the decision's prompt, a few tokens free of the grammar.
    assert!(matches!(requests[0].response_format, ResponseFormat::Text));
    assert!(requests[0].max_tokens.is_some_and(|n| n <= 8));
    assert_eq!(requests[0].messages, requests[1].messages);
    assert!(!requests[0].reuse_prompt);
    let ResponseFormat::JsonSchema { schema, .. } = &requests[1].response_format else {
        panic!("a decision is held to a schema")
    };
    assert_eq!(
        schema["maxItems"], 2,
        "the calls are bounded by max_parallel_tools"
    );
    assert!(
        requests[1].reuse_prompt,
        "the decision starts from the opening's prompt"
    );
    // The results go back as the model's own format.
    assert!(
        requests[2]
            .messages
            .iter()
            .any(|m| m.text().contains("<tool_response>"))
    );
    // Words opened the turn: the answer is asked for without the tools.
    assert!(matches!(requests[3].response_format, ResponseFormat::Text));
    assert!(!requests[3].messages[0].text().contains("<tools>"));
    assert_eq!(requests[3].max_tokens, None);
}

#[tokio::test]
async fn a_decision_opened_in_words_calls_nothing() {
    // A small model that would answer in words, free to: no tool fits.
    let model = Arc::new(
        ScriptedModel::new()
            .with_capabilities(local_caps())
            .text("The capital of France"),
    );
    let decision = Agent::from_arc(model.clone())
        .tool(Temperature)
        .decide("What is the capital of France?")
        .await
        .unwrap();
    assert!(decision.calls.is_empty(), "{:?}", decision.calls);
    assert_eq!(
        model.requests().len(),
        1,
        "no grammar-held decision after words"
    );
    let model = Arc::new(
        ScriptedModel::new()
            .with_capabilities(local_caps())
            .text("The capital")
            .text("Paris."),
    );
    let run = Agent::from_arc(model.clone())
        .tool(Temperature)
        .run("What is the capital of France?")
        .await
        .unwrap();
    assert_eq!(run.text(), "Paris.");
    assert!(run.tool_calls().is_empty());
    // The answer is asked for without the tools.
    let answer = &model.requests()[1];
    assert!(!answer.messages[0].text().contains("<tools>"));
}

#[tokio::test]
async fn a_scripted_tool_call_works_in_constrained_mode() {
    let model = ScriptedModel::new()
        .tool_call("temperature", json!({"city": "Nice"}))
        .text("[]")
        .text("21.5 °C.");
    let run = Agent::new(model)
        .tool(Temperature)
        .tool_mode(ToolMode::Constrained)
        .run("Nice?")
        .await
        .unwrap();
    assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("21.5"));
    assert_eq!(run.text(), "21.5 °C.");
}

#[tokio::test]
async fn a_typed_constrained_agent_answers_with_its_type_on_the_last_turn() {
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct Answer {
        celsius: f64,
    }
    let model = Arc::new(
        ScriptedModel::new()
            .text(r#"[{"name": "temperature", "arguments": {"city": "Nice"}}]"#)
            .text(r#"{"celsius": 21.5}"#),
    );
    let out = Agent::from_arc(model.clone())
        .tool(Temperature)
        .tool_mode(ToolMode::Constrained)
        .max_turns(2)
        .output::<Answer>()
        .run("Nice?")
        .await
        .unwrap();
    assert_eq!(out.value.celsius, 21.5);
    let last = model.requests().pop().unwrap();
    let ResponseFormat::JsonSchema { name, .. } = &last.response_format else {
        panic!("the last turn is held to the answer's schema")
    };
    assert_eq!(name, "final_answer");
}

#[tokio::test]
async fn a_tool_named_with_a_dot_goes_out_under_an_accepted_name_and_comes_back() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = Arc::new(
        ScriptedModel::new()
            .tool_call("math_factorial", json!({"number": 5}))
            .text("120"),
    );
    let run = Agent::from_arc(model.clone())
        .tool(factorial(count.clone()))
        .tool_mode(ToolMode::Native)
        .run("5!?")
        .await
        .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(run.tool_calls()[0].call.name, "math.factorial");
    assert_eq!(run.tool_calls()[0].result.as_deref(), Ok("120"));
    let sent = &model.requests()[0];
    assert_eq!(sent.tools[0].name, "math_factorial");
    // The conversation sent back names the call as it was sent.
    let second = &model.requests()[1];
    let named: Vec<String> = second
        .messages
        .iter()
        .flat_map(|m| match m {
            Message::Assistant { tool_calls, .. } => {
                tool_calls.iter().map(|c| c.name.clone()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(named, ["math_factorial"]);
}

#[tokio::test]
async fn one_turn_can_be_decided_without_running_its_calls() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = ScriptedModel::new()
        .with_capabilities(local_caps())
        .text(r#"[{"name": "math.factorial", "arguments": {"number": 5}}, {"name": "math.factorial", "arguments": {"number": 6}}]"#);
    let decision = Agent::new(model)
        .tool(factorial(count.clone()))
        .decide("5! and 6!")
        .await
        .unwrap();
    assert_eq!(decision.mode, ToolMode::Constrained);
    assert_eq!(decision.calls.len(), 2);
    assert_eq!(decision.calls[1].arguments, r#"{"number":6}"#);
    assert_eq!(count.load(Ordering::SeqCst), 0, "nothing ran");
}

#[tokio::test]
async fn the_same_successful_call_again_and_again_is_a_loop() {
    let mut model = ScriptedModel::new();
    for _ in 0..5 {
        model = model.tool_call("add_task", json!({"title": "milk"}));
    }
    let err = Agent::new(model)
        .tool(AddTask)
        .tool_mode(ToolMode::Native)
        .max_repeated_calls(3)
        .run("Buy milk.")
        .await
        .unwrap_err();
    match err.into_run() {
        Ok((AgentStop::RepeatedCall { tool, times, .. }, run)) => {
            assert_eq!((tool.as_str(), times), ("add_task", 3));
            assert_eq!(run.tool_calls().len(), 3);
        }
        e => panic!("expected RepeatedCall, got {e:?}"),
    }
}

#[tokio::test]
async fn a_bad_tool_is_reported_once_as_a_configuration_error() {
    let bad = FnTool::new("has space", "", json!({"type": "object"}), |_| async {
        Ok::<_, String>(Value::Null)
    })
    .unwrap();
    let err = Agent::new(ScriptedModel::new())
        .tool(bad)
        .run("go")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(text.matches("configuration").count(), 1, "{text}");
    assert!(text.contains("has space"), "{text}");
}

/// What a llama.cpp server answers to discovery (its models list, then
/// `/props` with the loaded model's modalities), then `replies`.
fn llama_cpp(audio: bool, replies: Vec<Reply>) -> Vec<Reply> {
    let mut all = vec![
        Reply::json(
            200,
            &json!({"object": "list", "data": [{"id": "qwen", "object": "model", "owned_by": "llamacpp"}]}),
        ),
        Reply::json(
            200,
            &json!({"modalities": {"vision": false, "audio": audio}}),
        ),
    ];
    all.extend(replies);
    all
}

#[tokio::test]
async fn an_openai_compatible_server_says_what_it_is_and_what_its_model_takes() {
    let server = HostileServer::start(llama_cpp(
        true,
        vec![
            // The opening: a call begins, cut at the opening's few tokens.
            Reply::json(
                200,
                &json!({"choices": [{"index": 0, "finish_reason": "length",
                    "message": {"role": "assistant", "content": "```json\n[{\"name\": \"add"}}]}),
            ),
            // The decision, held to the grammar.
            Reply::json(
                200,
                &json!({"choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "[{\"name\": \"add_task\", \"arguments\": {\"title\": \"milk\"}}]"}}]}),
            ),
        ],
    ))
    .await;
    let client = OpenAiCompat::new(&server.url);
    let model = client.model("some-other-name");
    // Before asking, nothing is known.
    assert_eq!(model.capabilities().grammar, Support::Unknown);
    let decision = Agent::new(model.clone())
        .tool(AddTask)
        .decide("Buy milk.")
        .await
        .unwrap();
    assert_eq!(
        decision.mode,
        ToolMode::Constrained,
        "llama.cpp: calls held by a grammar"
    );
    assert_eq!(decision.calls[0].name, "add_task");
    assert_eq!(client.server_kind().await, Some(ServerKind::LlamaCpp));
    let caps = model.capabilities();
    assert_eq!(caps.audio, Support::Yes, "from /props");
    assert_eq!(caps.images, Support::No, "from /props");
    // Asked once per client: models list, props; then the opening and the
    // decision.
    assert_eq!(server.requests(), 4);
    let bodies = server.bodies();
    let (opening, decision) = (&bodies[bodies.len() - 2], &bodies[bodies.len() - 1]);
    assert!(
        opening["max_completion_tokens"]
            .as_u64()
            .is_some_and(|n| n <= 8),
        "{opening}"
    );
    assert!(opening.get("response_format").is_none(), "{opening}");
    assert!(
        opening.get("cache_prompt").is_none(),
        "read afresh: {opening}"
    );
    assert_eq!(opening["messages"], decision["messages"]);
    assert_eq!(
        decision["cache_prompt"], true,
        "llama.cpp starts the decision from the opening's prompt"
    );
    assert_eq!(decision["response_format"]["type"], "json_schema");

    // What the user declared is kept.
    let declared = client.model("m").with_capabilities(Capabilities::unknown());
    declared.discover().await;
    assert_eq!(declared.capabilities().audio, Support::Unknown);
}

#[tokio::test]
async fn a_refused_connection_names_the_url_and_asks_if_the_server_runs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let model = OpenAiCompat::new(&url)
        .retry(typecall::provider::RetryPolicy::none())
        .model("m");
    let err = model
        .chat(&typecall::chat::ChatRequest::new(vec![Message::user("hi")]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("is the server running"), "{text}");
}

/// A server that behaves like llama.cpp's: it says keep-alive, answers
/// `/v1/models`, `/props` and chats on one connection, and closes the
/// connection after each stream. Keeps the head of every request.
async fn llama_cpp_like_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // One request: its head, then its body.
                    let end = loop {
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + 4 + len {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
                    buf.drain(..end + 4 + len);
                    seen.lock().unwrap().push(head.clone());
                    let (content_type, answer, streamed) = if head.starts_with("get /v1/models") {
                        let m = json!({"data": [{"id": "qwen", "owned_by": "llamacpp"}]});
                        ("application/json", m.to_string(), false)
                    } else if head.starts_with("get /props") {
                        let p = json!({"modalities": {"vision": false, "audio": false}});
                        ("application/json", p.to_string(), false)
                    } else if body.contains("\"stream\":true") {
                        let chunk = json!({"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]});
                        (
                            "text/event-stream",
                            format!("data: {chunk}\n\ndata: [DONE]\n\n"),
                            true,
                        )
                    } else {
                        let m = json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}]});
                        ("application/json", m.to_string(), false)
                    };
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nkeep-alive: timeout=5, max=100\r\n\r\n{answer}",
                        answer.len()
                    );
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    if streamed {
                        // What llama.cpp does after a stream, keep-alive or not.
                        return;
                    }
                }
            });
        }
    });
    (url, heads)
}

#[tokio::test]
async fn streams_in_a_row_on_a_server_that_closes_after_each_stream_all_land() {
    let (url, heads) = llama_cpp_like_server().await;
    let model = OpenAiCompat::new(&url)
        .retry(typecall::provider::RetryPolicy::none())
        .model("qwen");
    let req = typecall::chat::ChatRequest::new(vec![Message::user("hi")]);
    for i in 0..10 {
        let stream = model
            .stream(&req)
            .await
            .unwrap_or_else(|e| panic!("stream {i}: {e}"));
        let answer = typecall::provider::collect(stream).await.unwrap();
        assert_eq!(answer.text(), "hi");
        // A blocking request between streams too.
        assert_eq!(model.chat(&req).await.unwrap().text(), "hi", "chat {i}");
    }
    let heads = heads.lock().unwrap().clone();
    let streams: Vec<&String> = heads.iter().filter(|h| h.starts_with("post")).collect();
    assert_eq!(streams.len(), 20);
    // Discovery found llama.cpp: each stream asks the server to close.
    assert_eq!(
        heads
            .iter()
            .filter(|h| h.contains("connection: close"))
            .count(),
        10,
        "{heads:#?}"
    );
}

#[test]
fn a_streamed_list_shows_an_item_only_once_it_is_complete() {
    use typecall::output::Partial;
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema, typecall::Partial)]
    #[allow(dead_code)] // read through its partial shape
    struct Recipe {
        ingredients: Vec<Ingredient>,
        steps: Vec<String>,
    }
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct Ingredient {
        name: String,
        grams: Option<f64>,
    }
    let mut parser = typecall::output::PartialJson::new();
    parser.push(r#"{"ingredients": [{"name": "Eggs", "grams": 120}, {"name": "E"#);
    let p = Recipe::partial(&parser.complete_items().unwrap());
    assert_eq!(p.ingredients.as_ref().map(Vec::len), Some(1), "{p:?}");
    parser.push(r#"lderflower"}], "steps": ["Whisk", "Wh"#);
    let p = Recipe::partial(&parser.complete_items().unwrap());
    let ingredients = p.ingredients.as_deref().unwrap_or_default();
    assert_eq!(ingredients.len(), 2, "{p:?}");
    assert_eq!(
        (ingredients[1].name.as_str(), ingredients[1].grams),
        ("Elderflower", None)
    );
    assert_eq!(p.steps.as_deref(), Some(&["Whisk".to_owned()][..]), "{p:?}");
}

#[tokio::test]
async fn only_llama_cpp_is_asked_to_start_from_a_cached_prompt() {
    let server = HostileServer::start(vec![vllm("m"), answered("hi", Vec::new())]).await;
    let model = OpenAiCompat::new(&server.url).model("m");
    let request = typecall::chat::ChatRequest::new(vec![Message::user("hi")]).reuse_prompt(true);
    model.chat(&request).await.unwrap();
    let bodies = server.bodies();
    let sent = bodies.last().unwrap();
    assert_eq!(sent["messages"][0]["content"], "hi");
    assert!(
        sent.get("cache_prompt").is_none(),
        "vLLM caches by itself: {sent}"
    );
}

/// An opening cut at its few tokens, `text`, with its first token's
/// alternatives (the first of them the token written) and their
/// probabilities.
fn opening_reply(text: &str, alternatives: &[(&str, f64)]) -> Reply {
    let alt = |(t, p): &(&str, f64)| json!({"token": t, "logprob": p.ln(), "bytes": null});
    let (first, p) = alternatives[0];
    Reply::json(
        200,
        &json!({"choices": [{"index": 0, "finish_reason": "length",
            "message": {"role": "assistant", "content": text},
            "logprobs": {"content": [{"token": first, "logprob": p.ln(), "bytes": null,
                "top_logprobs": alternatives.iter().map(alt).collect::<Vec<_>>()}]}}]}),
    )
}

/// A `decide` on a llama.cpp-like server whose opening (the first token's
/// alternatives given) is `text`: the decision and the opening's body, after
/// checking that no grammar-held decision followed.
async fn decide_after_opening(text: &str, alternatives: &[(&str, f64)]) -> (Decision, Value) {
    let server =
        HostileServer::start(llama_cpp(false, vec![opening_reply(text, alternatives)])).await;
    let model = OpenAiCompat::new(&server.url).model("qwen");
    let decision = Agent::new(model)
        .tool(AddTask)
        .decide("What is the capital of France?")
        .await
        .unwrap();
    assert_eq!(decision.mode, ToolMode::Constrained);
    // Models list, props, the opening: no grammar-held decision.
    assert_eq!(server.requests(), 3);
    let opening = server.bodies().last().cloned().unwrap();
    (decision, opening)
}

#[tokio::test]
async fn an_opening_whose_words_are_likelier_than_a_call_calls_nothing() {
    // The likeliest first token opens a block, but words are likelier.
    let (decision, opening) = decide_after_opening(
        "```json",
        &[("```", 0.4), ("The", 0.3), ("To", 0.2), ("[", 0.05)],
    )
    .await;
    assert!(decision.calls.is_empty(), "{:?}", decision.calls);
    assert_eq!(opening["logprobs"], true, "{opening}");
    assert_eq!(opening["top_logprobs"], 20, "{opening}");
    // The alternatives weigh; the text has only to show the fence's language.
    assert!(
        opening["max_completion_tokens"]
            .as_u64()
            .is_some_and(|n| n <= 2),
        "{opening}"
    );
}

#[tokio::test]
async fn a_fence_in_another_language_calls_nothing_whatever_the_alternatives() {
    // Cut after the language: `python` can no longer become `json`.
    let (decision, _) = decide_after_opening("```python", &[("```", 0.9), ("The", 0.05)]).await;
    assert!(decision.calls.is_empty(), "{:?}", decision.calls);
}

/// What a vLLM server answers to discovery: its models list, `id` alone.
fn vllm(id: &str) -> Reply {
    Reply::json(
        200,
        &json!({"object": "list", "data": [{"id": id, "object": "model", "owned_by": "vllm"}]}),
    )
}

/// A whole answer, `content`, with its tokens' log-probabilities `tokens`
/// where there are any.
fn answered(content: &str, tokens: Vec<Value>) -> Reply {
    let mut choice = json!({"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": content}});
    if !tokens.is_empty() {
        choice["logprobs"] = json!({"content": tokens});
    }
    Reply::json(200, &json!({"choices": [choice]}))
}

/// An opening that is a code fence for JSON, likelier than words.
fn fence_opened() -> Reply {
    opening_reply("```json", &[("```", 0.9)])
}

/// A grammar-held decision that adds a task.
const MILK_ADDED: &str = "[{\"name\": \"add_task\", \"arguments\": {\"title\": \"milk\"}}]";

/// What a llama.cpp-like server answers to a constrained turn whose opening
/// is a call: discovery, the opening, then the grammar-held decision
/// `content` with its tokens' log-probabilities `tokens`.
fn call_written(content: &str, tokens: Vec<Value>) -> Vec<Reply> {
    llama_cpp(false, vec![fence_opened(), answered(content, tokens)])
}

/// A token as llama.cpp reports it, with its log-probability.
fn token(&(token, logprob): &(&str, f64)) -> Value {
    json!({"token": token, "logprob": logprob, "bytes": null, "top_logprobs": []})
}

/// A `decide` on a llama.cpp-like server whose opening is a call and whose
/// grammar-held decision adds a task, the model's log-probabilities of its
/// tokens `logprobs`, the agent's `min_call_confidence` `min` where given:
/// the decision and the decision's request body.
async fn decide_with_call_written(logprobs: &[f64], min: Option<f64>) -> (Decision, Value) {
    let tokens: Vec<Value> = logprobs.iter().map(|&l| token(&("t", l))).collect();
    let server = HostileServer::start(call_written(MILK_ADDED, tokens)).await;
    let model = OpenAiCompat::new(&server.url).model("qwen");
    let mut agent = Agent::new(model).tool(AddTask);
    if let Some(min) = min {
        agent = agent.min_call_confidence(min);
    }
    let decision = agent.decide("Remember the milk").await.unwrap();
    assert_eq!(server.requests(), 4, "models, props, opening, decision");
    let body = server.bodies().last().cloned().unwrap();
    (decision, body)
}

#[tokio::test]
async fn calls_the_model_wrote_unsure_are_not_made() {
    // On average under 88 % per token: a grammar made the model call.
    let unsure = [-0.05, -0.9, -0.7, -0.02, -0.3];
    let (decision, body) = decide_with_call_written(&unsure, None).await;
    assert!(decision.calls.is_empty(), "{:?}", decision.calls);
    assert!(decision.problem.is_none(), "{:?}", decision.problem);
    assert_eq!(body["logprobs"], true, "the decision is weighed: {body}");
    assert!(body.get("response_format").is_some(), "{body}");
    // Written sure, the same call is made.
    let (decision, _) = decide_with_call_written(&[-0.01, -0.2, 0.0, -0.05, 0.0], None).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    assert_eq!(decision.calls[0].name, "add_task");
    // Asked to trust the model less, or not to weigh at all.
    let (decision, _) = decide_with_call_written(&unsure, Some(0.6)).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    let (decision, body) = decide_with_call_written(&unsure, Some(0.0)).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    assert!(body.get("logprobs").is_none_or(|l| l == false), "{body}");
}

/// `decide` on a server that answers `replies`: the decision, and the last
/// message of the grammar-held decision's request.
async fn decide_on(replies: Vec<Reply>, mode: ToolMode) -> (Decision, Value) {
    let server = HostileServer::start(replies).await;
    let decision = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .tool_mode(mode)
        .min_call_confidence(0.0)
        .decide("Remember the milk")
        .await
        .unwrap();
    let body = server.bodies().last().cloned().unwrap();
    assert!(body.get("response_format").is_some(), "{body}");
    (decision, last_message(&body))
}

/// The last message of a chat-completions request body.
fn last_message(body: &Value) -> Value {
    body["messages"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_decision_goes_on_from_its_opening_fence_where_llama_cpp_continues_it() {
    // llama.cpp continues a last assistant message: the decision goes on
    // from the fence the opening wrote instead of writing it again.
    let (decision, last) = decide_on(call_written(MILK_ADDED, Vec::new()), ToolMode::Auto).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    assert_eq!(last, json!({"role": "assistant", "content": "```json"}));
    // An opening that began the list itself leaves the whole list to the
    // grammar.
    let list = opening_reply("[{", &[("[{", 0.9)]);
    let milk = answered(MILK_ADDED, Vec::new());
    let (decision, last) = decide_on(llama_cpp(false, vec![list, milk]), ToolMode::Auto).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    assert_eq!(last["role"], "user", "{last}");
    // A server not known to continue one is sent the conversation as it is.
    let replies = vec![
        vllm("qwen"),
        fence_opened(),
        answered(MILK_ADDED, Vec::new()),
    ];
    let (decision, last) = decide_on(replies, ToolMode::Constrained).await;
    assert_eq!(decision.calls.len(), 1, "{:?}", decision.calls);
    assert_eq!(last["role"], "user", "{last}");
}

#[tokio::test]
async fn a_server_that_will_not_go_on_from_the_fence_is_asked_for_the_decision_whole() {
    // llama.cpp refuses a last assistant message when the model's template
    // thinks first (Qwen3 and the like), with this answer.
    let refused = Reply::json(
        400,
        &json!({"error": {"code": 400, "type": "invalid_request_error",
            "message": "Assistant response prefill is incompatible with enable_thinking."}}),
    );
    let replies = llama_cpp(
        false,
        vec![
            fence_opened(),
            refused,
            answered(MILK_ADDED, Vec::new()),
            fence_opened(),
            answered("[]", Vec::new()),
            answered("Added.", Vec::new()),
        ],
    );
    let server = HostileServer::start(replies).await;
    let run = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .min_call_confidence(0.0)
        .run("Remember the milk")
        .await
        .unwrap();
    assert_eq!(run.tool_calls().len(), 1, "{:#?}", run.turns);
    assert_eq!(run.text(), "Added.");
    let bodies = server.bodies();
    // Models, props; turn 1: opening, refused, whole; turn 2: opening,
    // whole at once; the answer.
    assert_eq!(bodies.len(), 8);
    assert_eq!(last_message(&bodies[3])["role"], "assistant");
    assert_eq!(last_message(&bodies[4])["role"], "user");
    assert_eq!(bodies[3]["response_format"], bodies[4]["response_format"]);
    // Turn 2's decision, asked whole at once: its last message is the tool's
    // result, not the fence.
    assert_eq!(last_message(&bodies[6])["role"], "user", "{}", bodies[6]);
    assert!(
        last_message(&bodies[6])["content"]
            .as_str()
            .unwrap()
            .contains("<tool_response>")
    );
    assert!(bodies[6].get("response_format").is_some());
}

/// The tokens of a decision that adds a task, as llama.cpp reports them: a
/// fence the model opened unsure (words were nearly as likely), the list it
/// wrote sure, and the fence's close.
const FENCE_OPENED: (&str, f64) = ("```", -2.5);
const LIST: [(&str, f64); 4] = [
    ("[", -0.05),
    ("{\"name\": \"add_task\", ", -0.1),
    ("\"arguments\": {\"title\": \"milk\"}}", -0.1),
    ("]", 0.0),
];

#[tokio::test]
async fn a_decision_is_weighed_the_same_whole_or_streamed() {
    // Whole: every token with its probability, the fence's included.
    let mut whole = vec![FENCE_OPENED, ("json", 0.0), ("\n", 0.0)];
    whole.extend(LIST);
    whole.extend([("\n", 0.0), ("```", 0.0)]);
    // Weighed with its fence, the decision would be under the bar.
    let mean = whole.iter().map(|t| t.1).sum::<f64>() / whole.len() as f64;
    assert!(mean < typecall::agent::DEFAULT_MIN_CALL_CONFIDENCE.ln());
    let content: String = LIST.iter().map(|t| t.0).collect();
    let server =
        HostileServer::start(call_written(&content, whole.iter().map(token).collect())).await;
    let decision = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .decide("Remember the milk")
        .await
        .unwrap();
    assert_eq!(decision.calls.len(), 1, "whole: {:?}", decision.calls);

    // Streamed, llama.cpp sends the fence's opening token without text and
    // its language, line end and close without probabilities.
    let chunk = |content: Option<&str>, tokens: &[(&str, f64)], finish: Option<&str>| {
        json!({"choices": [{"index": 0, "finish_reason": finish,
            "delta": {"role": "assistant", "content": content},
            "logprobs": {"content": tokens.iter().map(token).collect::<Vec<_>>()}}]})
    };
    let opening = [
        json!({"choices": [{"index": 0, "finish_reason": null,
            "delta": {"role": "assistant", "content": "```"},
            "logprobs": {"content": [{"token": "```", "logprob": 0.9_f64.ln(), "bytes": null,
                "top_logprobs": [{"token": "```", "logprob": 0.9_f64.ln(), "bytes": null}]}]}}]}),
        chunk(Some("json"), &[("json", 0.0)], Some("length")),
    ];
    let mut streamed = vec![chunk(None, &[FENCE_OPENED], None)];
    streamed.extend(LIST.iter().map(|t| chunk(Some(t.0), &[*t], None)));
    streamed.push(chunk(None, &[("\n", 0.0)], Some("stop")));
    let server = HostileServer::start(llama_cpp(
        false,
        vec![Reply::sse(&opening), Reply::sse(&streamed)],
    ))
    .await;
    let mut events = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .max_turns(1)
        .run_stream("Remember the milk")
        .await
        .unwrap();
    let mut started = Vec::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(AgentEvent::ToolCallStarted { name, .. }) => started.push(name),
            Ok(_) => {}
            // The turn after the call is not allowed: the run ends there.
            Err(_) => break,
        }
    }
    assert_eq!(started, ["add_task"], "streamed");
    let bodies = server.bodies();
    assert_eq!(bodies[3]["stream"], true, "{}", bodies[3]);
    assert_eq!(bodies[3]["logprobs"], true, "{}", bodies[3]);
}

#[tokio::test]
async fn calls_cut_by_the_token_limit_stop_the_run_and_say_to_raise_it() {
    // A llama.cpp-like server whose grammar-held decision ends at the limit,
    // its JSON cut: the same limit would cut a repair again.
    let replies = || {
        llama_cpp(
            false,
            vec![
                Reply::json(
                    200,
                    &json!({"choices": [{"index": 0, "finish_reason": "length",
                        "message": {"role": "assistant", "content": "```json\n"}}]}),
                ),
                Reply::json(
                    200,
                    &json!({"choices": [{"index": 0, "finish_reason": "length",
                        "message": {"role": "assistant", "content": "[{\"name\": \"add_task\", \"arguments\": {\"title\": \"mi"}}]}),
                ),
            ],
        )
    };
    let server = HostileServer::start(replies()).await;
    let agent = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .max_tokens(12);
    let err = agent.run("Buy milk.").await.unwrap_err();
    let (stop, run) = err.into_run().expect("an agent error");
    assert!(
        matches!(
            stop,
            AgentStop::CallsCut {
                max_tokens: Some(12)
            }
        ),
        "{stop:?}"
    );
    assert!(stop.to_string().contains("raise `max_tokens`"), "{stop}");
    assert_eq!(run.turns.len(), 1, "no repair round");
    // Models list, props, the opening, the decision: nothing asked again.
    assert_eq!(server.requests(), 4);

    // One turn's decision says the same as its problem.
    let server = HostileServer::start(replies()).await;
    let decision = Agent::new(OpenAiCompat::new(&server.url).model("qwen"))
        .tool(AddTask)
        .decide("Buy milk.")
        .await
        .unwrap();
    assert!(decision.calls.is_empty());
    let problem = decision.problem.expect("a problem");
    assert!(
        problem.contains("cut at the token limit (the server's own)"),
        "{problem}"
    );
}

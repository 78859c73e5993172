//! Every recorded OpenAI Responses exchange, replayed: typecall builds a
//! request equal in meaning to the recorded one and reads the recorded answer
//! into the recorded facts, blocking and streaming; the recorded two-turn tool
//! conversations run through `Agent` (the second turn names the first
//! response, as recorded), and the JSON scenarios through `Extract`.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use typecall::agent::ToolMode;
use typecall::chat::{
    ChatResponse, FinishReason, RateLimitResource, RateLimitWindow, ResponseFormat, ToolChoice,
};
use typecall::provider::{Model, OpenAiResponsesModel, RetryPolicy, check_request, collect};
use typecall::testing::Replay;
use typecall::{Agent, ErrorKind, Extract, OpenAiResponses};
use typecall_tests::replay::without_schema_keys;
use typecall_tests::responses::{Facts, configure, facts_of, request_from_recorded};
use typecall_tests::{
    Fruit, RequestLog, SquareRoot, SquareRootConversation, assert_tree_replayed, compare_answer,
    extract_value, interactions, json_files, json_scenario_mode, recordings_dir,
    replay_square_root_conversations, replay_tree, skip, sync_stream_pairs,
};

const KEY: &str = "sk-proj-test-key-never-sent-anywhere";

fn model_for(replay: &Replay, body: &Value) -> OpenAiResponsesModel {
    observed_model_for(replay, body, Arc::new(RequestLog::default()))
}

fn observed_model_for(replay: &Replay, body: &Value, log: Arc<RequestLog>) -> OpenAiResponsesModel {
    let model = OpenAiResponses::new(KEY)
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .observe(log)
        .model(body["model"].as_str().unwrap_or_default());
    configure(model, body)
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let status = last.response.status;
    if last.request.method == "GET" {
        let client = OpenAiResponses::new(KEY)
            .base_url(replay.url())
            .retry(RetryPolicy::none());
        return match client.list_models().await {
            Err(e)
                if status == 401
                    && e.kind() == ErrorKind::Auth
                    && !format!("{e} {e:?}").contains(KEY) =>
            {
                Ok(None)
            }
            other => Err(format!("HTTP {status}: got {other:?}")),
        };
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = request_from_recorded(&body);
    let model = model_for(&replay, &body);
    // A request typecall refuses before sending has no wire form to compare.
    let refused = check_request(model.name(), &model.capabilities(), &request).is_err();
    let built = model.request_body(&request, stream);
    if !refused && without_schema_keys(&built) != without_schema_keys(&body) {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }
    let result = if stream {
        match model.stream(&request).await {
            Ok(s) => collect(s).await,
            Err(e) => Err(e),
        }
    } else {
        model.chat(&request).await
    };
    if status != 200 {
        let api: Value = serde_json::from_str(&last.response.body).unwrap_or(Value::Null);
        let ok = match (&result, status) {
            (Err(e), 401) if e.kind() == ErrorKind::Auth => {
                e.api_error().and_then(|a| a.code.as_deref()) == api["error"]["code"].as_str()
            }
            (Err(e), 400 | 404) if e.kind() == ErrorKind::ModelNotFound => {
                e.model() == body["model"].as_str()
            }
            // Logprobs on a reasoning model: OpenAI refuses them (400);
            // typecall refuses them first.
            (Err(e), 400) if e.kind() == ErrorKind::Unsupported => {
                e.unsupported_feature() == Some("logprobs")
            }
            _ => false,
        };
        return if ok {
            Ok(None)
        } else {
            Err(format!(
                "HTTP {status}: expected the matching error, got {result:?}"
            ))
        };
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    compare(&resp, &facts_of(&last.response.body, stream))?;
    for (name, values) in &last.response.headers {
        let Some(rest) = name.strip_prefix("x-ratelimit-") else {
            continue;
        };
        let Some((field, resource)) = rest.split_once('-') else {
            continue;
        };
        let resource = match resource {
            "requests" => RateLimitResource::Requests,
            "tokens" => RateLimitResource::Tokens,
            _ => continue,
        };
        let limit = resp
            .rate_limits
            .get(resource, RateLimitWindow::Minute)
            .ok_or(format!("rate limit {name} missing"))?;
        let ok = match field {
            "limit" => limit.limit.map(|n| n.to_string()) == values.first().cloned(),
            "remaining" => limit.remaining.map(|n| n.to_string()) == values.first().cloned(),
            _ => limit.reset.is_some(),
        };
        if !ok {
            return Err(format!("{name}: {limit:?}, recorded {values:?}"));
        }
    }
    Ok(Some(resp))
}

fn compare(resp: &ChatResponse, facts: &Facts) -> Result<(), String> {
    compare_answer(resp, &facts.text, &facts.reasoning, &facts.tool_calls)?;
    if resp.tool_calls.iter().any(|c| c.id.is_empty()) {
        return Err(format!("a tool call has no id: {:?}", resp.tool_calls));
    }
    let searches: Vec<Value> = resp
        .server_tool_calls
        .iter()
        .map(|c| serde_json::from_str::<Value>(&c.arguments).unwrap_or_default()["query"].clone())
        .collect();
    if searches != facts.searches || resp.server_tool_calls.iter().any(|c| c.sources.is_empty()) {
        return Err(format!(
            "web searches {:?}, recorded {:?}",
            resp.server_tool_calls, facts.searches
        ));
    }
    let state_id = resp
        .provider_state
        .as_ref()
        .and_then(|s| s.data["response_id"].as_str());
    if resp.id != facts.id || state_id != Some(facts.id.as_str()) {
        return Err(format!(
            "response id {:?} / state {state_id:?}, recorded {}",
            resp.id, facts.id
        ));
    }
    let finish = match facts.incomplete.as_deref() {
        Some("max_output_tokens") => FinishReason::Length,
        Some(other) => return Err(format!("unexpected incomplete reason {other}")),
        None if !facts.tool_calls.is_empty() => FinishReason::ToolCalls,
        None => FinishReason::Stop,
    };
    if resp.finish_reason != finish {
        return Err(format!(
            "finish {:?}, expected {finish:?}",
            resp.finish_reason
        ));
    }
    let u = &facts.usage;
    let ok = resp.usage.prompt_tokens == u["input_tokens"].as_u64().unwrap_or(0)
        && resp.usage.completion_tokens == u["output_tokens"].as_u64().unwrap_or(0)
        && resp.usage.total_tokens == u["total_tokens"].as_u64().unwrap_or(0)
        && resp.usage.cached_tokens
            == u.pointer("/input_tokens_details/cached_tokens")
                .and_then(Value::as_u64)
        && resp.usage.reasoning_tokens
            == u.pointer("/output_tokens_details/reasoning_tokens")
                .and_then(Value::as_u64);
    if !ok || resp.usage.total_tokens == 0 {
        return Err(format!("usage {:?}, recorded {u}", resp.usage));
    }
    Ok(())
}

#[tokio::test]
async fn every_recorded_responses_exchange_replays_into_the_recorded_facts() {
    let Some(dir) = recordings_dir("openai-responses replay") else {
        return;
    };
    let root = dir.join("openai-responses");
    if !root.is_dir() {
        skip("openai-responses replay", "no openai-responses/ recordings");
        return;
    }
    // extras/ holds document-input runs of the recording client's CLI;
    // *_image/ the image-generation endpoint, which typecall does not speak.
    let skipped = [
        "extras/",
        "errors/bad_apiKey_image/",
        "errors/bad_model_image/",
    ];
    skip(
        "openai-responses replay of extras/ and image generation",
        "not chat (see the README's provider table)",
    );
    let (checked, failures, answers) = replay_tree(&root, &skipped, check_file).await;
    assert_tree_replayed(checked, &failures, 80);
    let pairs = sync_stream_pairs(&answers);
    assert!(pairs >= 15, "only {pairs} sync/stream pairs agreed");
}

#[tokio::test]
async fn the_recorded_responses_tool_conversations_run_through_the_agent() {
    let Some(dir) = recordings_dir("openai-responses agent replay") else {
        return;
    };
    let root = dir.join("openai-responses");
    let build = |c: &SquareRootConversation, log: Arc<RequestLog>| {
        let first_body = c.first.request.body.clone().unwrap();
        let (first_request, _) = request_from_recorded(&first_body);
        let agent = Agent::new(observed_model_for(&c.replay, &first_body, log))
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .strict_tools(false)
            .first_tool_choice(c.first_choice.clone())
            .tool_choice_after_tools(ToolChoice::None)
            .max_turns(3);
        let agent = match first_request.reasoning_effort {
            Some(e) => agent.reasoning_effort(e),
            None => agent,
        };
        let prompt = first_body["input"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        Some((agent, prompt))
    };
    let same = |a: &Value, b: &Value| without_schema_keys(a) == without_schema_keys(b);
    let answer = |body: &str, stream: bool| facts_of(body, stream).text;
    let checked = replay_square_root_conversations(&root, build, same, answer).await;
    assert!(checked >= 4, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_responses_json_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("openai-responses extract replay") else {
        return;
    };
    let root = dir.join("openai-responses");
    let mut checked = 0;
    for path in json_files(&root) {
        let Some(mode) = json_scenario_mode(&path) else {
            continue;
        };
        let all = interactions(&path);
        let body = all.last().unwrap().request.body.clone().unwrap();
        let (request, _) = request_from_recorded(&body);
        assert!(!matches!(request.response_format, ResponseFormat::Text));
        let replay = Replay::from_interactions(all).unwrap();
        let prompt = body["input"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let model = model_for(&replay, &body);
        let extract = Extract::<Fruit>::new(&model).mode(mode);
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let fruit = extract_value(extract, prompt, body["stream"] == true)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(fruit.is_fruit, "{label}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} files");
}

//! Every recorded Gemini exchange, replayed: typecall builds a request equal
//! in meaning to the recorded one (tool and answer schemas converted from JSON
//! Schema into Gemini's dialect) and reads the recorded answer into the
//! recorded facts, blocking and streaming; the recorded two-turn tool
//! conversations run through `Agent` (thought signatures sent back as
//! recorded), and the JSON scenarios through `Extract`.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use typecall::agent::ToolMode;
use typecall::chat::{ChatResponse, FinishReason, ToolChoice};
use typecall::provider::{GeminiModel, Model, RetryPolicy, check_request};
use typecall::testing::Replay;
use typecall::{Agent, ErrorKind, Extract, Gemini};
use typecall_tests::gemini::{Facts, configure, facts_of, request_from_recorded};
use typecall_tests::{
    Fruit, RequestLog, SquareRoot, SquareRootConversation, assert_tree_replayed, compare_answer,
    extract_value, interactions, json_files, json_scenario_mode, recordings_dir,
    replay_square_root_conversations, replay_tree, skip, sync_stream_pairs,
};

const KEY: &str = "AIza-test-key-never-sent-anywhere";

/// The model named in a recorded URL (`…/models/NAME:generateContent`).
fn model_name(url: &str) -> String {
    let tail = url.rsplit("/models/").next().unwrap_or_default();
    let name = tail.split(':').next().unwrap_or_default();
    name.replace("%20", " ")
}

fn model_for(replay: &Replay, url: &str, body: &Value, log: Arc<RequestLog>) -> GeminiModel {
    let model = Gemini::new(KEY)
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .observe(log)
        .model(model_name(url));
    configure(model, body)
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let status = last.response.status;
    let url = last.request.url.clone();
    if last.request.method == "GET" {
        let client = Gemini::new(KEY)
            .base_url(replay.url())
            .retry(RetryPolicy::none());
        return match client.list_models().await {
            Err(e) if e.kind() == ErrorKind::Auth && !format!("{e} {e:?}").contains(KEY) => {
                Ok(None)
            }
            other => Err(format!("HTTP {status}: got {other:?}")),
        };
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let request = request_from_recorded(&body, &url);
    let stream = url.contains(":streamGenerateContent");
    let log = Arc::new(RequestLog::default());
    let model = model_for(&replay, &url, &body, log.clone());
    let refused = check_request(model.name(), &model.capabilities(), &request).is_err();
    let built = model.request_body(&request).map_err(|e| e.to_string())?;
    if !refused && built != body {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }
    let result = typecall_tests::answer(&model, &request, stream).await;
    if status != 200 {
        let ok = match (&result, status) {
            (Err(e), 400 | 401 | 403) if e.kind() == ErrorKind::Auth => true,
            (Err(e), 400 | 404) if e.kind() == ErrorKind::ModelNotFound => {
                e.model() == Some(model_name(&url).as_str())
            }
            // Logprobs: every recorded Gemini model refuses them (400);
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
    // The request went to the recorded endpoint (generateContent or
    // streamGenerateContent?alt=sse) of the recorded model.
    if log.bodies().len() != 1 {
        return Err("the request did not reach the recorded endpoint".into());
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    compare(&resp, &facts_of(&last.response.body, stream))?;
    Ok(Some(resp))
}

fn compare(resp: &ChatResponse, facts: &Facts) -> Result<(), String> {
    compare_answer(resp, &facts.text, &facts.thoughts, &facts.tool_calls)?;
    if facts.grounded && resp.server_tool_calls.is_empty() {
        return Err("the grounding (search or URL context) was not surfaced".into());
    }
    if resp.id != facts.id {
        return Err(format!("id {:?}, recorded {:?}", resp.id, facts.id));
    }
    let finish = match facts.finish_reason.as_deref() {
        Some("MAX_TOKENS") => FinishReason::Length,
        _ if !facts.tool_calls.is_empty() => FinishReason::ToolCalls,
        Some("STOP") => FinishReason::Stop,
        other => return Err(format!("unexpected recorded finish reason {other:?}")),
    };
    if resp.finish_reason != finish {
        return Err(format!(
            "finish {:?}, recorded {:?}",
            resp.finish_reason, facts.finish_reason
        ));
    }
    let u = &facts.usage;
    let n = |k: &str| u[k].as_u64();
    let prompt = n("promptTokenCount").unwrap_or(0) + n("toolUsePromptTokenCount").unwrap_or(0);
    let completion = n("candidatesTokenCount").unwrap_or(0) + n("thoughtsTokenCount").unwrap_or(0);
    let ok = resp.usage.prompt_tokens == prompt
        && resp.usage.completion_tokens == completion
        && Some(resp.usage.total_tokens) == n("totalTokenCount")
        && resp.usage.reasoning_tokens == n("thoughtsTokenCount")
        && resp.usage.cached_tokens == n("cachedContentTokenCount");
    if !ok || resp.usage.total_tokens == 0 {
        return Err(format!("usage {:?}, recorded {u}", resp.usage));
    }
    Ok(())
}

#[tokio::test]
async fn every_recorded_gemini_exchange_replays_into_the_recorded_facts() {
    let Some(dir) = recordings_dir("gemini replay") else {
        return;
    };
    let root = dir.join("gemini");
    if !root.is_dir() {
        skip("gemini replay", "no gemini/ recordings");
        return;
    }
    // Context caching and file CRUD are replayed step by step in
    // replay_storage; file-search stores, video and image generation and the
    // recording CLI's document runs are not chat.
    let skipped = [
        "extras/Cache",
        "extras/Caching",
        "extras/FileCRUD",
        "extras/FileSearchStoreCRUD",
        "extras/GenAsync",
        "extras/TextOutputDocInput",
        "errors/bad_apiKey_image",
    ];
    skip(
        "gemini replay of file-search stores, video and image generation",
        "not spoken (caching and files: replay_storage; see the README's provider table)",
    );
    let (checked, failures, answers) = replay_tree(&root, &skipped, check_file).await;
    assert_tree_replayed(checked, &failures, 150);
    let pairs = sync_stream_pairs(&answers);
    assert!(pairs >= 10, "only {pairs} sync/stream pairs agreed");
}

#[tokio::test]
async fn the_recorded_gemini_tool_conversations_run_through_the_agent() {
    let Some(dir) = recordings_dir("gemini agent replay") else {
        return;
    };
    let root = dir.join("gemini");
    let build = |c: &SquareRootConversation, log: Arc<RequestLog>| {
        let body = c.first.request.body.clone().unwrap();
        let agent = Agent::new(model_for(&c.replay, &c.first.request.url, &body, log))
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .first_tool_choice(c.first_choice.clone())
            .tool_choice_after_tools(ToolChoice::None)
            .max_turns(3);
        let prompt = body["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        Some((agent, prompt))
    };
    // Byte for byte: thought signatures go back as they came.
    let same = |a: &Value, b: &Value| a == b;
    let answer = |body: &str, stream: bool| facts_of(body, stream).text;
    let checked = replay_square_root_conversations(&root, build, same, answer).await;
    assert!(checked >= 4, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_gemini_json_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("gemini extract replay") else {
        return;
    };
    let root = dir.join("gemini");
    let mut checked = 0;
    for path in json_files(&root) {
        let Some(mode) = json_scenario_mode(&path) else {
            continue;
        };
        let all = interactions(&path);
        let last = all.last().unwrap().clone();
        let body = last.request.body.clone().unwrap();
        let replay = Replay::from_interactions(all).unwrap();
        let prompt = body["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let model = model_for(
            &replay,
            &last.request.url,
            &body,
            Arc::new(RequestLog::default()),
        );
        let extract = Extract::<Fruit>::new(&model).mode(mode);
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let fruit = extract_value(extract, prompt, last.request.url.contains(":stream"))
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(fruit.is_fruit, "{label}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} files");
}

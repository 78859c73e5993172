//! Every recorded exchange of Ollama's own API (`ollama/`) replayed through
//! `Ollama`: the request means what the recorded one says, the answer (a
//! blocking object, or an NDJSON stream) reads into the recorded facts —
//! text, thinking, tool calls, finish, usage —; the SquareRoot
//! conversation runs through `Agent`, the JSON scenarios through `Extract`.

use std::path::PathBuf;

use serde_json::{Value, json};
use typecall::chat::{ChatRequest, ChatResponse, FinishReason};
use typecall::provider::Ollama;
use typecall::provider::{OllamaModel, RetryPolicy};
use typecall::testing::Replay;
use typecall_tests::replay::{normalized_chat, request_from_recorded};
use typecall_tests::{
    Fruit, assert_tree_replayed, interactions, recordings_dir, replay_tree, skip,
};

fn model(replay: &Replay, body: &Value) -> OllamaModel {
    let m = Ollama::new(replay.url().trim_end_matches("/v1"))
        .retry(RetryPolicy::none())
        .model(body["model"].as_str().unwrap_or_default());
    match body["think"].as_bool() {
        Some(on) => m.think(on),
        None => m,
    }
}

/// The neutral request a recorded body means: read in chat completions'
/// form (images as parts, `options` and `format` as their fields, call
/// arguments as text).
fn recorded_request(body: &Value) -> (ChatRequest, bool) {
    let mut v = body.clone();
    let o = v.as_object_mut().unwrap();
    if let Some(opts) = o.remove("options") {
        for (k, to) in [
            ("seed", "seed"),
            ("num_predict", "max_tokens"),
            ("stop", "stop"),
        ] {
            if let Some(x) = opts.get(k) {
                o.insert(to.into(), x.clone());
            }
        }
    }
    match o.remove("format") {
        Some(Value::String(_)) => {
            o.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(schema @ Value::Object(_)) => {
            o.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": "", "schema": schema, "strict": false}}),
            );
        }
        _ => {}
    }
    for m in o["messages"].as_array_mut().into_iter().flatten() {
        if let Some(images) = m.as_object_mut().and_then(|m| m.remove("images")) {
            let mut parts: Vec<Value> = m["content"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(|t| json!({"type": "text", "text": t}))
                .into_iter()
                .collect();
            for i in images.as_array().into_iter().flatten() {
                let url = format!("data:image/png;base64,{}", i.as_str().unwrap_or(""));
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            m["content"] = Value::Array(parts);
        }
        for c in m["tool_calls"].as_array_mut().into_iter().flatten() {
            let args = c["function"]["arguments"].to_string();
            c["function"]["arguments"] = Value::String(args);
        }
        if m["role"] == "tool"
            && let Some(name) = m.get("tool_name").cloned()
        {
            m["name"] = name;
        }
    }
    request_from_recorded(&v)
}

/// What a recorded answer says: text, thinking, calls, done_reason, tokens.
fn facts(body: &str) -> (String, String, Vec<(String, Value)>, Option<String>, u64) {
    let (mut text, mut thinking, mut calls, mut reason, mut tokens) =
        (String::new(), String::new(), Vec::new(), None, 0);
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        text += v["message"]["content"].as_str().unwrap_or_default();
        thinking += v["message"]["thinking"].as_str().unwrap_or_default();
        for c in v["message"]["tool_calls"].as_array().into_iter().flatten() {
            let f = &c["function"];
            calls.push((
                f["name"].as_str().unwrap_or_default().to_owned(),
                f["arguments"].clone(),
            ));
        }
        if v["done"] == true {
            reason = v["done_reason"].as_str().map(str::to_owned);
            tokens = v["eval_count"].as_u64().unwrap_or(0);
        }
    }
    (text, thinking, calls, reason, tokens)
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    if !last.request.url.ends_with("/api/chat") {
        // The recording client pulling a model (`/api/pull`): not a chat.
        return Ok(None);
    }
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = recorded_request(&body);
    let m = model(&replay, &body);
    let built = m
        .request_body(&request, stream)
        .map_err(|e| e.to_string())?;
    if normalized_chat(&built) != normalized_chat(&body) {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }
    let result = typecall_tests::answer(&m, &request, stream).await;
    if last.response.status != 200 {
        return match result {
            Err(_) => Ok(None),
            Ok(r) => Err(format!("HTTP {}: answered {r:?}", last.response.status)),
        };
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    let (text, thinking, calls, reason, tokens) = facts(&last.response.body);
    let want = Some(text).filter(|t| !t.is_empty());
    let want_thinking = Some(thinking).filter(|t| !t.is_empty());
    if resp.content != want || resp.reasoning != want_thinking {
        return Err(format!(
            "text {:?} / {:?}, recorded {want:?} / {want_thinking:?}",
            resp.content, resp.reasoning
        ));
    }
    let got: Vec<(String, Value)> = resp
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.parsed_arguments().unwrap_or(Value::Null)))
        .collect();
    if got != calls {
        return Err(format!("tool calls {got:?}, recorded {calls:?}"));
    }
    let finish = match (calls.is_empty(), reason.as_deref()) {
        (false, _) => FinishReason::ToolCalls,
        (true, Some(r)) => FinishReason::from_wire(r),
        (true, None) => FinishReason::Stop,
    };
    if resp.finish_reason != finish || resp.usage.completion_tokens != tokens {
        return Err(format!(
            "finish {:?} / {:?}",
            resp.finish_reason, resp.usage
        ));
    }
    Ok(Some(resp))
}

#[tokio::test]
async fn every_recorded_ollama_exchange_replays() {
    let Some(dir) = recordings_dir("ollama replay") else {
        return;
    };
    let root = dir.join("ollama");
    if !root.is_dir() {
        skip("ollama replay", "no ollama/ recordings");
        return;
    }
    let (checked, failures, _) = replay_tree(&root, &["extras/"], check_file).await;
    assert_tree_replayed(checked, &failures, 60);
}

#[tokio::test]
async fn the_recorded_ollama_tool_conversation_runs_through_the_agent() {
    use std::sync::Arc;
    use typecall::Agent;
    use typecall::agent::ToolMode;
    use typecall::chat::ToolChoice;
    use typecall_tests::{SquareRoot, SquareRootConversation};
    let Some(dir) = recordings_dir("ollama agent replay") else {
        return;
    };
    let root = dir.join("ollama");
    // The recorded SquareRoot conversations (`…-1-any`, `…-2-any`) by hand:
    // the shared walker pairs `-2.json` files only.
    let mut checked = 0;
    let mut failures = Vec::new();
    for second in typecall_tests::json_files(&root) {
        let name = second.file_name().unwrap().to_string_lossy().to_string();
        let Some(mode) = name.strip_suffix("-Tools-SquareRoot-2-any.json") else {
            continue;
        };
        let first = second.with_file_name(format!("{mode}-Tools-SquareRoot-1-any.json"));
        if !first.exists() {
            continue;
        }
        let mut all = interactions(&first);
        let first_body = all.last().unwrap().request.body.clone().unwrap();
        let second_rec = interactions(&second).last().unwrap().clone();
        all.push(second_rec.clone());
        let c = SquareRootConversation {
            replay: Replay::from_interactions(all).unwrap(),
            first_path: first.clone(),
            first: interactions(&first).last().unwrap().clone(),
            second_path: second.clone(),
            second: second_rec.clone(),
            first_choice: ToolChoice::Auto,
            stream: mode == "GenStream",
        };
        let log = Arc::new(typecall_tests::RequestLog::default());
        let mut m = Ollama::new(c.replay.url().trim_end_matches("/v1"))
            .retry(RetryPolicy::none())
            .observe(log.clone())
            .model(first_body["model"].as_str().unwrap());
        if let Some(on) = first_body["think"].as_bool() {
            m = m.think(on);
        }
        let agent = Agent::new(m)
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .first_tool_choice(ToolChoice::Auto)
            .tool_choice_after_tools(ToolChoice::Auto)
            .max_turns(3);
        let prompt = first_body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        let result = typecall_tests::run_agent(agent, prompt, c.stream).await;
        let recorded = second_rec.request.body.clone().unwrap();
        let same = |a: &Value, b: &Value| normalized_chat(a) == normalized_chat(b);
        match typecall_tests::check_square_root_run(result, &log.bodies(), &recorded, same, None) {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{}: {e}", second.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 1, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_ollama_json_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("ollama extract replay") else {
        return;
    };
    let (checked, failures) = typecall_tests::extract_recorded_json(
        &dir.join("ollama"),
        |replay, body, _| model(replay, body),
        |body| recorded_request(body).0.messages,
        |last, _| serde_json::from_str::<Fruit>(facts(&last.response.body).0.trim()).is_ok(),
    )
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 8, "only {checked} files");
}

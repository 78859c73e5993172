//! Every recorded Cerebras exchange, replayed: typecall builds a request equal in
//! meaning to the recorded one, and reads the recorded answer into exactly the
//! recorded facts. One loop over every file, naming each file that fails.

use std::path::Path;

use futures_util::StreamExt;
use serde_json::Value;
use typecall::chat::{
    ChatResponse, FinishReason, RateLimitResource, RateLimitWindow, StreamEvent, split_think,
};
use typecall::provider::{Model, RetryPolicy, collect};
use typecall::testing::{Interaction, Replay};
use typecall::{Cerebras, ErrorKind};
use typecall_tests::replay::{facts_of, request_from_recorded, without_schema_keys};
use typecall_tests::{assert_tree_replayed, read_json, recordings_dir, replay_tree};

fn client(replay: &Replay) -> Cerebras {
    Cerebras::new("csk-test-key-never-sent-anywhere")
        .base_url(replay.url())
        .retry(RetryPolicy::none())
}

/// Checks one recorded file; returns the answer (if any) for cross-checks.
async fn check_file(path: &Path, root: &Path) -> Result<Option<ChatResponse>, String> {
    let rec = read_json(path);
    let interactions: Vec<Interaction> = serde_json::from_value(rec["interactions"].clone())
        .map_err(|e| format!("not a recording: {e}"))?;
    let last = interactions.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(interactions).map_err(|e| e.to_string())?;
    let cerebras = client(&replay);
    let status = last.response.status;

    if last.request.method == "GET" {
        return match cerebras.list_models().await {
            Err(e) if status == 401 && e.kind() == ErrorKind::Auth => {
                let code = e.api_error().and_then(|a| a.code.as_deref());
                if code == Some("wrong_api_key") {
                    Ok(None)
                } else {
                    Err(format!("code {code:?}"))
                }
            }
            other => Err(format!("expected an auth error, got {other:?}")),
        };
    }

    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = request_from_recorded(&body);
    let model_name = body["model"].as_str().unwrap_or_default();
    let model = cerebras.model(model_name).blocking_fallback(false);

    // 1. The request typecall builds means the same as the recorded one.
    let built = model.request_body(&request, stream);
    if without_schema_keys(&built) != without_schema_keys(&body) {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }

    // 2. The answer is read into the recorded facts.
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
            (Err(e), 401 | 403) if e.kind() == ErrorKind::Auth => {
                e.api_error().and_then(|a| a.code.as_deref()) == api["code"].as_str()
            }
            (Err(e), 404) if e.kind() == ErrorKind::ModelNotFound => e.model() == Some(model_name),
            (Err(e), 400) if e.kind() == ErrorKind::BadRequest => {
                e.api_error().map(|a| a.message.as_str()) == api["message"].as_str()
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
    let facts = facts_of(&last.response.body, stream);

    let (think, answer) = split_think(&facts.content);
    let expected_text = Some(answer).filter(|a| !a.is_empty());
    if resp.content != expected_text {
        return Err(format!(
            "text {:?}, recorded {:?}",
            resp.content, expected_text
        ));
    }
    let expected_reasoning = [
        Some(facts.reasoning.clone()).filter(|r| !r.is_empty()),
        think.filter(|t| !t.is_empty()),
    ];
    let expected_reasoning = match expected_reasoning {
        [Some(r), Some(t)] => Some(format!("{r}\n{t}")),
        [r, t] => r.or(t),
    };
    if resp.reasoning != expected_reasoning {
        return Err(format!(
            "reasoning {:?}, recorded {:?}",
            resp.reasoning, expected_reasoning
        ));
    }
    let calls: Vec<(String, String)> = resp
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.arguments.clone()))
        .collect();
    if calls != facts.tool_calls {
        return Err(format!(
            "tool calls {calls:?}, recorded {:?}",
            facts.tool_calls
        ));
    }
    for c in &resp.tool_calls {
        c.parsed_arguments()
            .map_err(|e| format!("arguments of {} do not parse: {e}", c.name))?;
        if c.id.is_empty() {
            return Err(format!("tool call {} has no id", c.name));
        }
    }
    let finish = facts.finish_reason.as_deref().map(FinishReason::from_wire);
    if Some(&resp.finish_reason) != finish.as_ref() {
        return Err(format!(
            "finish {:?}, recorded {:?}",
            resp.finish_reason, facts.finish_reason
        ));
    }
    let u = &facts.usage;
    let usage_ok = resp.usage.prompt_tokens == u["prompt_tokens"].as_u64().unwrap_or(0)
        && resp.usage.completion_tokens == u["completion_tokens"].as_u64().unwrap_or(0)
        && resp.usage.total_tokens == u["total_tokens"].as_u64().unwrap_or(0)
        && resp.usage.reasoning_tokens
            == u.pointer("/completion_tokens_details/reasoning_tokens")
                .and_then(Value::as_u64)
        && resp.usage.cached_tokens
            == u.pointer("/prompt_tokens_details/cached_tokens")
                .and_then(Value::as_u64);
    if !usage_ok || resp.usage.total_tokens == 0 {
        return Err(format!("usage {:?}, recorded {u}", resp.usage));
    }
    if resp.usage.time.is_none() {
        return Err("time_info was not read".into());
    }
    let counts: Vec<usize> = resp
        .logprobs
        .iter()
        .flatten()
        .map(|t| t.top_logprobs.len())
        .collect();
    if counts != facts.logprobs {
        return Err(format!(
            "logprobs {counts:?}, recorded {:?}",
            facts.logprobs
        ));
    }
    for (name, values) in &last.response.headers {
        let Some(rest) = name.strip_prefix("x-ratelimit-") else {
            continue;
        };
        let parts: Vec<&str> = rest.splitn(3, '-').collect();
        let [field, resource, window] = parts[..] else {
            continue;
        };
        let resource = if resource == "requests" {
            RateLimitResource::Requests
        } else {
            RateLimitResource::Tokens
        };
        let window = match window {
            "minute" => RateLimitWindow::Minute,
            "hour" => RateLimitWindow::Hour,
            _ => RateLimitWindow::Day,
        };
        let limit = resp
            .rate_limits
            .get(resource, window)
            .ok_or(format!("rate limit {name} missing"))?;
        let recorded = values[0].parse::<f64>().map_err(|e| e.to_string())?;
        let got = match field {
            "limit" => limit.limit.map(|v| v as f64),
            "remaining" => limit.remaining.map(|v| v as f64),
            _ => limit.reset.map(|d| d.as_secs_f64()),
        };
        if got.is_none_or(|g| (g - recorded).abs() > 1e-6) {
            return Err(format!("{name}: {got:?}, recorded {recorded}"));
        }
    }
    let inference_id = last
        .response
        .headers
        .get("inference-id")
        .and_then(|v| v.first());
    if resp.usage.inference_id.as_ref() != inference_id {
        return Err(format!(
            "inference id {:?}, recorded {inference_id:?}",
            resp.usage.inference_id
        ));
    }
    let _ = root;
    Ok(Some(resp))
}

#[tokio::test]
async fn every_recorded_exchange_replays_into_the_recorded_facts() {
    let Some(dir) = recordings_dir("replay of every recording") else {
        return;
    };
    let root = dir.join("cerebras");
    let (checked, failures, answers) = replay_tree(&root, &[], |path| {
        let root = root.clone();
        async move { check_file(&path, &root).await }
    })
    .await;
    assert_tree_replayed(checked, &failures, 201);

    // GenSync and GenStream of the same scenario give equal answers where the
    // model answered the same.
    let mut compared = 0;
    for (name, sync) in &answers {
        if !name.contains("/GenSync") {
            continue;
        }
        let Some(streamed) = answers.get(&name.replace("/GenSync", "/GenStream")) else {
            continue;
        };
        let calls = |r: &ChatResponse| {
            r.tool_calls
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone()))
                .collect::<Vec<_>>()
        };
        if sync.content == streamed.content && calls(sync) == calls(streamed) {
            compared += 1;
            assert_eq!(sync.finish_reason, streamed.finish_reason, "{name}");
            assert_eq!(sync.model, streamed.model, "{name}");
            assert_eq!(
                sync.logprobs.is_some(),
                streamed.logprobs.is_some(),
                "{name}"
            );
            assert_eq!(
                sync.usage.total_tokens > 0,
                streamed.usage.total_tokens > 0,
                "{name}"
            );
        }
    }
    assert!(
        compared >= 20,
        "only {compared} sync/stream pairs answered the same"
    );
}

#[tokio::test]
async fn stream_events_come_in_order_and_end_with_the_whole_answer() {
    let Some(dir) = recordings_dir("stream events") else {
        return;
    };
    let path = dir.join("cerebras/gpt-oss-120b_thinking/GenStream-Tools-SquareRoot-1.json");
    let rec = read_json(&path);
    let interactions: Vec<Interaction> =
        serde_json::from_value(rec["interactions"].clone()).unwrap();
    let body = interactions[0].request.body.clone().unwrap();
    let replay = Replay::from_interactions(interactions).unwrap();
    let (request, _) = request_from_recorded(&body);
    let mut stream = client(&replay)
        .model("gpt-oss-120b")
        .stream(&request)
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut ready = None;
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        kinds.push(match &ev {
            StreamEvent::ReasoningDelta(_) => "reasoning",
            StreamEvent::TextDelta(_) => "text",
            StreamEvent::ToolCallStarted { .. } => "started",
            StreamEvent::ToolCallArgumentsDelta { .. } => "args",
            StreamEvent::ToolCallReady { call, .. } => {
                ready = Some(call.clone());
                "ready"
            }
            StreamEvent::Done(_) => "done",
            _ => "other",
        });
    }
    kinds.dedup();
    assert_eq!(kinds, ["reasoning", "started", "args", "ready", "done"]);
    let call = ready.unwrap();
    assert_eq!(
        call.parsed_arguments().unwrap(),
        serde_json::json!({"number": 132413})
    );
}

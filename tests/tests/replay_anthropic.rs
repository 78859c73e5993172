//! Every recorded Anthropic Messages exchange, replayed: typecall builds a
//! request equal in meaning to the recorded one and reads the recorded answer
//! into the recorded facts, blocking and streaming; the recorded two-turn tool
//! conversations run through `Agent`, and the schema scenarios through
//! `Extract`. One loop over the tree, naming each file that fails.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use typecall::agent::ToolMode;
use typecall::chat::{ChatResponse, FinishReason, RateLimitResource, RateLimitWindow, ToolChoice};
use typecall::output::OutputMode;
use typecall::provider::{AnthropicModel, Model, RetryPolicy, check_request};
use typecall::testing::Replay;
use typecall::{Agent, Anthropic, ErrorKind, Extract};
use typecall_tests::anthropic::{Facts, facts_of, normalized, request_from_recorded, thinking_of};
use typecall_tests::{
    Fruit, RequestLog, SquareRoot, SquareRootConversation, assert_tree_replayed, compare_answer,
    extract_value, interactions, json_files, recordings_dir, replay_square_root_conversations,
    replay_tree, skip, sync_stream_pairs,
};

const KEY: &str = "sk-ant-test-key-never-sent-anywhere";

fn model_for(replay: &Replay, body: &Value) -> AnthropicModel {
    observed_model_for(replay, body, Arc::new(RequestLog::default()))
}

fn observed_model_for(replay: &Replay, body: &Value, log: Arc<RequestLog>) -> AnthropicModel {
    Anthropic::new(KEY)
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .observe(log)
        .model(body["model"].as_str().unwrap_or_default())
        .thinking(thinking_of(body))
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let status = last.response.status;
    if last.request.method == "GET" {
        let client = Anthropic::new(KEY)
            .base_url(replay.url())
            .retry(RetryPolicy::none());
        return match client.list_models().await {
            Err(e) if status == 401 && e.kind() == ErrorKind::Auth => {
                let said = e.api_error().cloned().unwrap_or_default();
                if said.kind.as_deref() == Some("authentication_error")
                    && !e.to_string().contains(KEY)
                {
                    Ok(None)
                } else {
                    Err(format!("auth error {e:?}"))
                }
            }
            Ok(models) if status == 200 && !models.is_empty() => Ok(None),
            other => Err(format!("HTTP {status}: got {other:?}")),
        };
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = request_from_recorded(&body);
    let model = model_for(&replay, &body);

    // 1. The request typecall builds means the same as the recorded one.
    // A request typecall refuses before sending (free-form JSON) has no wire
    // form to compare.
    let refused = check_request(model.name(), &model.capabilities(), &request).is_err();
    let built = model.request_body(&request, stream);
    if !refused && normalized(&built) != normalized(&body) {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }

    // 2. The answer is read into the recorded facts.
    let result = typecall_tests::answer(&model, &request, stream).await;
    if status != 200 {
        let api: Value = serde_json::from_str(&last.response.body).unwrap_or(Value::Null);
        let kind = api["error"]["type"].as_str();
        let ok = match (&result, status) {
            (Err(e), 401) if e.kind() == ErrorKind::Auth => {
                e.api_error().and_then(|a| a.kind.as_deref()) == kind
            }
            (Err(e), 404) if e.kind() == ErrorKind::ModelNotFound => {
                e.model() == body["model"].as_str()
            }
            // Free-form JSON: Anthropic refuses it (400); typecall refuses it
            // first, saying what to use instead.
            (Err(e), 400) if e.kind() == ErrorKind::Unsupported => {
                e.unsupported_feature() == Some("JSON mode")
            }
            (Err(e), 400) if e.kind() == ErrorKind::BadRequest => {
                e.api_error().map(|a| a.message.as_str()) == api["error"]["message"].as_str()
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
    compare(&resp, &facts)?;
    for (name, values) in &last.response.headers {
        let Some(rest) = name.strip_prefix("anthropic-ratelimit-") else {
            continue;
        };
        let Some((resource, field)) = rest.rsplit_once('-') else {
            continue;
        };
        let resource = match resource {
            "requests" => RateLimitResource::Requests,
            "tokens" => RateLimitResource::Tokens,
            "input-tokens" => RateLimitResource::InputTokens,
            "output-tokens" => RateLimitResource::OutputTokens,
            _ => continue,
        };
        let limit = resp
            .rate_limits
            .get(resource, RateLimitWindow::Minute)
            .ok_or(format!("rate limit {name} missing"))?;
        let got = match field {
            "limit" => limit.limit,
            "remaining" => limit.remaining,
            _ => {
                if limit.reset.is_none() {
                    return Err(format!("{name}: reset not read"));
                }
                continue;
            }
        };
        if got.map(|g| g.to_string()).as_deref() != values.first().map(String::as_str) {
            return Err(format!("{name}: {got:?}, recorded {values:?}"));
        }
    }
    Ok(Some(resp))
}

fn compare(resp: &ChatResponse, facts: &Facts) -> Result<(), String> {
    compare_answer(resp, &facts.text, &facts.thinking, &facts.tool_calls)?;
    if resp.tool_calls.iter().any(|c| c.id.is_empty()) {
        return Err("a tool call has no id".into());
    }
    let cited: Vec<&str> = resp
        .citations
        .iter()
        .map(|c| c.cited_text.as_str())
        .collect();
    if cited != facts.citations {
        return Err(format!(
            "citations {cited:?}, recorded {:?}",
            facts.citations
        ));
    }
    let server: Vec<(String, Value)> = resp
        .server_tool_calls
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                serde_json::from_str(&c.arguments).unwrap_or_default(),
            )
        })
        .collect();
    if server != facts.server_tools {
        return Err(format!(
            "server tools {server:?}, recorded {:?}",
            facts.server_tools
        ));
    }
    if !facts.server_tools.is_empty() && resp.server_tool_calls.iter().all(|c| c.sources.is_empty())
    {
        return Err("the server tools' pages were not surfaced".into());
    }
    let kept = resp
        .provider_state
        .as_ref()
        .and_then(|s| s.data.as_array())
        .map_or(0, Vec::len);
    if kept != facts.state_blocks {
        return Err(format!(
            "{kept} blocks kept to send back, recorded {}",
            facts.state_blocks
        ));
    }
    let finish = match facts.stop_reason.as_deref() {
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        other => return Err(format!("unexpected recorded stop reason {other:?}")),
    };
    if resp.finish_reason != finish {
        return Err(format!(
            "finish {:?}, recorded {:?}",
            resp.finish_reason, facts.stop_reason
        ));
    }
    let u = &facts.usage;
    let n = |k: &str| u[k].as_u64();
    let prompt = n("input_tokens").unwrap_or(0)
        + n("cache_read_input_tokens").unwrap_or(0)
        + n("cache_creation_input_tokens").unwrap_or(0);
    let ok = resp.usage.prompt_tokens == prompt
        && resp.usage.completion_tokens == n("output_tokens").unwrap_or(0)
        && resp.usage.total_tokens == prompt + n("output_tokens").unwrap_or(0)
        && resp.usage.cached_tokens == n("cache_read_input_tokens")
        && resp.usage.cache_write_tokens == n("cache_creation_input_tokens")
        && resp.usage.reasoning_tokens
            == u.pointer("/output_tokens_details/thinking_tokens")
                .and_then(Value::as_u64);
    if !ok || resp.usage.total_tokens == 0 {
        return Err(format!("usage {:?}, recorded {u}", resp.usage));
    }
    Ok(())
}

#[tokio::test]
async fn every_recorded_anthropic_exchange_replays_into_the_recorded_facts() {
    let Some(dir) = recordings_dir("anthropic replay") else {
        return;
    };
    let root = dir.join("anthropic");
    if !root.is_dir() {
        skip("anthropic replay", "no anthropic/ recordings");
        return;
    }
    // Batches, file uploads, token counting: not spoken yet (see the README).
    let (checked, failures, answers) = replay_tree(&root, &["extras/"], check_file).await;
    assert_tree_replayed(checked, &failures, 150);
    // Blocking and streamed answers of the same scenario that say the same
    // thing are read the same.
    let pairs = sync_stream_pairs(&answers);
    assert!(pairs >= 20, "only {pairs} sync/stream pairs agreed");
}

#[tokio::test]
async fn the_recorded_anthropic_tool_conversations_run_through_the_agent() {
    let Some(dir) = recordings_dir("anthropic agent replay") else {
        return;
    };
    let root = dir.join("anthropic");
    let build = |c: &SquareRootConversation, log: Arc<RequestLog>| {
        // Configured like the recorded second turn, which the replay server
        // answers only when what typecall sends means the same.
        let body = c.second.request.body.clone().unwrap();
        let (request, _) = request_from_recorded(&body);
        let mut agent = Agent::new(observed_model_for(&c.replay, &body, log))
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .strict_tools(false)
            .first_tool_choice(c.first_choice.clone())
            .tool_choice_after_tools(ToolChoice::None)
            .max_turns(3);
        for m in &request.messages {
            if let typecall::chat::Message::System { content } = m {
                agent = agent.system(content.clone());
            }
        }
        let prompt = body["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        Some((agent, prompt))
    };
    let same = |a: &Value, b: &Value| normalized(a) == normalized(b);
    let answer = |body: &str, stream: bool| facts_of(body, stream).text;
    let checked = replay_square_root_conversations(&root, build, same, answer).await;
    assert!(checked >= 8, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_anthropic_schema_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("anthropic extract replay") else {
        return;
    };
    let root = dir.join("anthropic");
    let mut checked = 0;
    for path in json_files(&root) {
        if !path.ends_with("GenSync-JSONSchema.json")
            && !path.ends_with("GenStream-JSONSchema.json")
        {
            continue;
        }
        let all = interactions(&path);
        let body = all.last().unwrap().request.body.clone().unwrap();
        let replay = Replay::from_interactions(all).unwrap();
        let prompt = body["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let model = model_for(&replay, &body);
        let extract = Extract::<Fruit>::new(&model).mode(OutputMode::Auto);
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let fruit = extract_value(extract, prompt, body["stream"] == true)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(fruit.is_fruit, "{label}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} files");
}

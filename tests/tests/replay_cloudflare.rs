//! Every recorded exchange of Cloudflare Workers AI (`cloudflare/`) replayed
//! through `Cloudflare`: the request means what the recorded one says, the
//! answer reads into the recorded facts (text — a JSON answer given as an
//! object too —, tool calls in either shape, usage), blocking and streaming;
//! refusals typed; the SquareRoot conversation through `Agent`, the JSON
//! scenarios through `Extract`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use typecall::chat::{ChatRequest, ChatResponse, Message, ToolCall, split_think};
use typecall::provider::{CloudflareModel, RetryPolicy};
use typecall::testing::Replay;
use typecall::{Cloudflare, ErrorKind};
use typecall_tests::replay::{normalized_chat, request_from_recorded};
use typecall_tests::{
    Fruit, assert_tree_replayed, interactions, recordings_dir, replay_tree, skip,
};

const KEY: &str = "cloudflare-test-token-never-sent-anywhere";

/// The model a recording was made with: the path after `/ai/run/`.
fn model_name(url: &str) -> String {
    let path = url.split("/ai/run/").nth(1).unwrap_or_default();
    path.replace("%20", " ")
}

fn model(replay: &Replay, name: &str) -> CloudflareModel {
    Cloudflare::new("ACCOUNT_ID", KEY)
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .model(name)
}

/// The neutral request a recorded body means: chat completions' reading,
/// with Workers AI's tool-call turns (`{"role": "assistant", "content":
/// <arguments>, "tool_call_id": …}`) read back as calls of the one tool.
fn recorded_request(body: &Value) -> (ChatRequest, bool) {
    let (mut request, stream) = request_from_recorded(body);
    let tool = body["tools"][0]["function"]["name"].as_str().unwrap_or("");
    let wire: Vec<&Value> = body["messages"].as_array().into_iter().flatten().collect();
    for (i, m) in request.messages.iter_mut().enumerate() {
        // A call: the assistant turn a tool result answers (its id, where
        // the model gave one).
        let answered = wire.get(i + 1).is_some_and(|next| next["role"] == "tool");
        if let (true, Message::Assistant { content, .. }) = (answered, &*m) {
            let id = wire[i]["tool_call_id"].as_str().unwrap_or_default();
            let call = ToolCall::new(id, tool, content.clone().unwrap_or_default());
            *m = Message::assistant_tool_calls(vec![call]);
        }
    }
    (request, stream)
}

/// What a recorded successful answer says: its text (an object's JSON as
/// written), tool calls (name, parsed arguments), completion tokens.
fn facts(body: &str, stream: bool) -> (String, Vec<(String, Value)>, u64) {
    let call = |c: &Value| {
        let f = if c["function"].is_object() {
            &c["function"]
        } else {
            c
        };
        let args = match &f["arguments"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        (f["name"].as_str().unwrap_or_default().to_owned(), args)
    };
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if !stream {
        let v: Value = serde_json::from_str(body).unwrap();
        let r = &v["result"];
        let calls = r["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c.is_object());
        return (
            text_of(&r["response"]),
            calls.map(call).collect(),
            r["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        );
    }
    let (mut text, mut tokens) = (String::new(), 0);
    let mut calls: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            continue;
        };
        let Ok(e) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        text.push_str(&text_of(&e["response"]));
        tokens = e["usage"]["completion_tokens"].as_u64().unwrap_or(tokens);
        for c in e["tool_calls"].as_array().into_iter().flatten() {
            let i = c["index"].as_u64().unwrap_or(0) as usize;
            if calls.len() <= i {
                calls.resize(i + 1, Default::default());
            }
            if let Some(n) = c["function"]["name"].as_str() {
                calls[i].0 = n.to_owned();
            }
            calls[i].1 += c["function"]["arguments"].as_str().unwrap_or_default();
        }
    }
    let calls = calls
        .into_iter()
        .map(|(n, a)| (n, serde_json::from_str(&a).unwrap_or(Value::Null)))
        .collect();
    (text, calls, tokens)
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let status = last.response.status;
    if last.request.method == "GET" {
        // Listing models is not spoken; its refusal is the key's.
        return Ok(None);
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = recorded_request(&body);
    let model = model(&replay, &model_name(&last.request.url));
    let built = model
        .request_body(&request, stream)
        .map_err(|e| e.to_string())?;
    if normalized_chat(&built) != normalized_chat(&body) {
        return Err(format!(
            "request differs:\n  built:    {built}\n  recorded: {body}"
        ));
    }
    let result = typecall_tests::answer(&model, &request, stream).await;
    if status != 200 {
        let kind = result.as_ref().err().map(|e| e.kind());
        let ok = match status {
            401 => kind == Some(ErrorKind::Auth),
            400 if last.response.body.contains("No route") => {
                kind == Some(ErrorKind::ModelNotFound)
            }
            _ => matches!(kind, Some(ErrorKind::BadRequest)),
        };
        return match ok {
            true if !format!("{result:?}").contains(KEY) => Ok(None),
            _ => Err(format!(
                "HTTP {status}: expected a typed error, got {result:?}"
            )),
        };
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    let (text, calls, tokens) = facts(&last.response.body, stream);
    let (think, answer) = split_think(&text);
    let want = Some(answer).filter(|a| !a.is_empty());
    if resp.content != want {
        return Err(format!("text {:?}, recorded {want:?}", resp.content));
    }
    if resp.reasoning != think.filter(|t| !t.is_empty()) {
        return Err(format!("reasoning {:?}", resp.reasoning));
    }
    let got: Vec<(String, Value)> = resp
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.parsed_arguments().unwrap_or(Value::Null)))
        .collect();
    if got != calls {
        return Err(format!("tool calls {got:?}, recorded {calls:?}"));
    }
    if resp.usage.completion_tokens != tokens {
        return Err(format!("usage {:?}, recorded {tokens}", resp.usage));
    }
    Ok(Some(resp))
}

#[tokio::test]
async fn every_recorded_cloudflare_exchange_replays() {
    let Some(dir) = recordings_dir("cloudflare replay") else {
        return;
    };
    let root = dir.join("cloudflare");
    if !root.is_dir() {
        skip("cloudflare replay", "no cloudflare/ recordings");
        return;
    }
    let (checked, failures, answers) = replay_tree(&root, &["extras/"], check_file).await;
    assert_tree_replayed(checked, &failures, 60);
    // Workers AI says no finish reason: a cut answer reads as cut.
    let cut = answers
        .iter()
        .filter(|(name, _)| name.contains("MaxTokens"))
        .all(|(_, r)| r.finish_reason == typecall::chat::FinishReason::Length);
    assert!(cut, "every MaxTokens answer reads as cut");
}

#[tokio::test]
async fn the_recorded_cloudflare_tool_conversation_runs_through_the_agent() {
    use std::sync::Arc;
    use typecall::Agent;
    use typecall::agent::ToolMode;
    use typecall::chat::ToolChoice;
    use typecall_tests::{SquareRoot, SquareRootConversation};
    let Some(dir) = recordings_dir("cloudflare agent replay") else {
        return;
    };
    let root = dir.join("cloudflare");
    let build = |c: &SquareRootConversation, log: Arc<typecall_tests::RequestLog>| {
        if c.second.response.status != 200 || c.first.response.status != 200 {
            return None;
        }
        let m = Cloudflare::new("ACCOUNT_ID", KEY)
            .base_url(c.replay.url())
            .retry(RetryPolicy::none())
            .observe(log)
            .model(model_name(&c.first.request.url));
        let agent = Agent::new(m)
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .first_tool_choice(ToolChoice::Auto)
            .tool_choice_after_tools(ToolChoice::Auto)
            .max_turns(3);
        let first = c.first.request.body.as_ref().unwrap();
        let prompt = first["messages"][0]["content"].as_str()?.to_owned();
        Some((agent, prompt))
    };
    // The agent names each call itself where the model gave no id.
    let same = |a: &Value, b: &Value| {
        let strip = |v: &Value| {
            let mut v = normalized_chat(v);
            for m in v["messages"].as_array_mut().into_iter().flatten() {
                if let Some(o) = m.as_object_mut() {
                    o.remove("tool_call_id");
                }
                if m["role"] == "assistant"
                    && let Some(args) = m["content"].as_str()
                {
                    m["content"] = serde_json::from_str(args).unwrap_or(json!(args));
                }
            }
            v
        };
        strip(a) == strip(b)
    };
    let no_text = |_: &str, _: bool| None;
    let checked =
        typecall_tests::replay_square_root_conversations(&root, build, same, no_text).await;
    assert!(checked >= 1, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_cloudflare_json_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("cloudflare extract replay") else {
        return;
    };
    let (checked, failures) = typecall_tests::extract_recorded_json(
        &dir.join("cloudflare"),
        |replay, _, url| model(replay, &model_name(url)),
        |body| recorded_request(body).0.messages,
        // Answered: JSON came (a thinking model cut at 256 tokens gave none).
        |last, stream| {
            let (text, _, _) = match last.response.status {
                200 => facts(&last.response.body, stream),
                _ => Default::default(),
            };
            serde_json::from_str::<Fruit>(split_think(&text).1.trim()).is_ok()
        },
    )
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 10, "only {checked} files");
}

#[test]
fn names_are_read_from_recorded_urls() {
    assert_eq!(
        model_name("https://x/client/v4/accounts/A/ai/run/@cf/meta/llama"),
        "@cf/meta/llama"
    );
    assert_eq!(model_name("https://x/ai/run/bad%20model"), "bad model");
    let _ = Path::new("");
}

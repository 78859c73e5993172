//! Every recorded exchange of the OpenAI-compatible vendors (`openai/`,
//! `mistral/`, `groq/`, `deepseek/`, `openrouter/`, `togetherai/`,
//! `llamacpp/`), replayed through the vendor presets: the request means what
//! the recorded one says, the answer reads into the recorded facts (text,
//! reasoning, tool calls, finish, usage), blocking and streaming; refusals are
//! typed, and what a vendor refuses typecall refuses first.

use std::path::{Path, PathBuf};

use serde_json::Value;
use typecall::chat::{ChatResponse, FinishReason, split_think};
use typecall::provider::{Model, OpenAiCompatModel, RetryPolicy, Vendor, check_request, collect};
use typecall::testing::{Interaction, Replay};
use typecall::{Error, OpenAiCompat};
use typecall_tests::replay::{facts_of, normalized_chat, request_from_recorded};
use typecall_tests::{read_json, recordings_dir, replay_tree, skip, sync_stream_pairs};

const KEY: &str = "vendor-test-key-never-sent-anywhere";

/// The vendor options typecall has no typed setter for: sent as extra fields.
const VENDOR_OPTIONS: [&str; 8] = [
    "store",
    "service_tier",
    "cache_prompt",
    "chat_template_kwargs",
    "reasoning_format",
    "thinking",
    "search_settings",
    "moderation",
];

fn interactions(path: &Path) -> Vec<Interaction> {
    serde_json::from_value(read_json(path)["interactions"].clone()).unwrap()
}

/// The model a recording was made with: the body's, or (llama.cpp sends
/// none) the folder's.
fn model_for(
    vendor: Vendor,
    replay: &Replay,
    body: &Value,
    path: &Path,
    root: &Path,
) -> OpenAiCompatModel {
    let name = body["model"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let rel = path.parent().unwrap().strip_prefix(root).unwrap();
            rel.display()
                .to_string()
                .trim_end_matches("_thinking")
                .to_owned()
        });
    let thinking = path
        .parent()
        .unwrap()
        .to_string_lossy()
        .ends_with("_thinking");
    let mut model = OpenAiCompat::vendor(vendor, Some(KEY.into()))
        .base_url(replay.url())
        .retry(RetryPolicy::none())
        .model(&name);
    if thinking {
        model = model.with_capabilities(vendor.thinking_capabilities(&name));
    }
    for k in VENDOR_OPTIONS {
        if let Some(v) = body.get(k) {
            model = model.extra_field(k, v.clone());
        }
    }
    model
}

async fn check_file(
    vendor: Vendor,
    root: PathBuf,
    path: PathBuf,
) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    let replay = Replay::from_interactions(all).map_err(|e| e.to_string())?;
    let status = last.response.status;
    if last.request.method == "GET" {
        let client = OpenAiCompat::vendor(vendor, Some(KEY.into()))
            .base_url(replay.url())
            .retry(RetryPolicy::none());
        return match client.list_models().await {
            Err(Error::Auth(e)) if !e.message.contains(KEY) => Ok(None),
            Ok(m) if status == 200 && !m.is_empty() => Ok(None),
            other => Err(format!("HTTP {status}: {other:?}")),
        };
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = request_from_recorded(&body);
    let model = model_for(vendor, &replay, &body, &path, &root);
    let refused = check_request(model.name(), &model.capabilities(), &request).is_err();
    let built = model.request_body(&request, stream);
    if !refused && normalized_chat(&built) != normalized_chat(&body) {
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
    // A refusal relayed inside a successful answer (an `error` object, or an
    // error event in a stream) is a typed error too.
    let relayed_error = last.response.body.lines().any(|l| {
        let data = l.strip_prefix("data:").unwrap_or(l).trim();
        serde_json::from_str::<Value>(data).is_ok_and(|v| v.get("error").is_some_and(Value::is_object))
    });
    if status == 200 && relayed_error {
        return match &result {
            Err(Error::BadRequest(_) | Error::Server(_) | Error::Unsupported { .. }) => Ok(None),
            other => Err(format!("a relayed error read as {other:?}")),
        };
    }
    if status != 200 {
        let ok = match (&result, status) {
            (Err(Error::Unsupported { .. }), _) => true,
            (Err(Error::Auth(_)), 401 | 403) => true,
            (Err(Error::ModelNotFound { .. }), 400 | 404) => true,
            (Err(Error::BadRequest(e)), 400 | 404 | 422) => e.status == status,
            (Err(Error::Server(e)), 500..) => e.status == status,
            _ => false,
        };
        return if ok {
            Ok(None)
        } else {
            Err(format!(
                "HTTP {status}: expected a typed error, got {result:?}"
            ))
        };
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    let facts = facts_of(&last.response.body, stream);
    let (think, answer) = split_think(&facts.content);
    let text = Some(answer).filter(|a| !a.is_empty());
    if resp.content != text {
        return Err(format!("text {:?}, recorded {text:?}", resp.content));
    }
    let reasoning = [
        Some(facts.reasoning.clone()).filter(|r| !r.is_empty()),
        think.filter(|t| !t.is_empty()),
    ];
    let reasoning = match reasoning {
        [Some(r), Some(t)] => Some(format!("{r}\n{t}")),
        [r, t] => r.or(t),
    };
    if resp.reasoning != reasoning {
        return Err(format!(
            "reasoning {:?}, recorded {reasoning:?}",
            resp.reasoning
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
    let finish = facts.finish_reason.as_deref().map(FinishReason::from_wire);
    if Some(&resp.finish_reason) != finish.as_ref() && finish.is_some() {
        return Err(format!(
            "finish {:?}, recorded {:?}",
            resp.finish_reason, facts.finish_reason
        ));
    }
    let u = &facts.usage;
    if u.is_object()
        && (resp.usage.prompt_tokens != u["prompt_tokens"].as_u64().unwrap_or(0)
            || resp.usage.completion_tokens != u["completion_tokens"].as_u64().unwrap_or(0))
    {
        return Err(format!("usage {:?}, recorded {u}", resp.usage));
    }
    Ok(Some(resp))
}

#[tokio::test]
async fn every_recorded_vendor_exchange_replays_through_its_preset() {
    let Some(dir) = recordings_dir("vendor replay") else {
        return;
    };
    let mut total = 0;
    let mut failures = Vec::new();
    for folder in [
        "openai",
        "mistral",
        "groq",
        "deepseek",
        "openrouter",
        "togetherai",
        "llamacpp",
    ] {
        let root = dir.join(folder);
        if !root.is_dir() {
            skip("vendor replay", &format!("no {folder}/ recordings"));
            continue;
        }
        let vendor = Vendor::from_name(folder).unwrap();
        // Image generation and the recording CLI's document runs are not chat.
        let skipped = [
            "extras/",
            "errors/bad_apiKey_image",
            "errors/bad_model_image",
        ];
        let (checked, failed, answers) =
            replay_tree(&root, &skipped, |p| check_file(vendor, root.clone(), p)).await;
        total += checked;
        failures.extend(failed.into_iter().map(|f| format!("{folder}/{f}")));
        let _ = sync_stream_pairs(&answers);
    }
    assert!(
        failures.is_empty(),
        "{} of {total} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 500, "only {total} files");
}

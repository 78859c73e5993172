//! Every recorded exchange of the OpenAI-compatible vendors (`openai/`,
//! `mistral/`, `groq/`, `deepseek/`, `openrouter/`, `togetherai/`,
//! `llamacpp/`, `baseten/`, `huggingface/`, `alibaba/`, `alibaba-us/`,
//! `perplexity/`, `xiaomi/`, `pollinations/`),
//! replayed through the vendor presets: the request means what
//! the recorded one says, the answer reads into the recorded facts (text,
//! reasoning, tool calls, finish, usage), blocking and streaming; refusals are
//! typed, and what a vendor refuses typecall refuses first.

use std::path::{Path, PathBuf};

use serde_json::Value;
use typecall::chat::{ChatResponse, FinishReason, split_think};
use typecall::provider::{Model, OpenAiCompatModel, RetryPolicy, Vendor, check_request, collect};
use typecall::testing::Replay;
use typecall::{ErrorKind, OpenAiCompat};
use typecall_tests::replay::{facts_of, normalized_chat, request_from_recorded};
use typecall_tests::{
    Fruit, SquareRoot, assert_tree_replayed, interactions, json_scenario_mode, recordings_dir,
    replay_tree, skip, sync_stream_pairs,
};

const KEY: &str = "vendor-test-key-never-sent-anywhere";

/// The vendors' recordings folders.
const VENDOR_FOLDERS: [&str; 14] = [
    "openai",
    "mistral",
    "groq",
    "deepseek",
    "openrouter",
    "togetherai",
    "llamacpp",
    "baseten",
    "huggingface",
    "alibaba",
    "alibaba-us",
    "perplexity",
    "xiaomi",
    "pollinations",
];

/// The vendor options typecall has no typed setter for: sent as extra fields.
const VENDOR_OPTIONS: [&str; 12] = [
    "store",
    "service_tier",
    "cache_prompt",
    "chat_template_kwargs",
    "reasoning_format",
    "thinking",
    "search_settings",
    "moderation",
    "enable_thinking",
    "return_images",
    "return_related_questions",
    "private",
];

/// The neutral request a recorded body means to `vendor`: Perplexity
/// searches unless told `disable_search`, so a body without it asked for
/// a search.
fn recorded_request(vendor: Vendor, body: &Value) -> (typecall::chat::ChatRequest, bool) {
    let (mut request, stream) = request_from_recorded(body);
    if vendor == Vendor::Perplexity && body["disable_search"] != true {
        request = request.server_tool(typecall::chat::ServerTool::WebSearch { max_uses: None });
    }
    (request, stream)
}

/// Where a vendor's requests go on a replay server: Pollinations' base URL
/// is its endpoint (`…/openai`), the others' end in a version.
fn at_replay(vendor: Vendor, replay: &Replay) -> String {
    match vendor {
        Vendor::Pollinations => format!("{}/openai", replay.url().trim_end_matches("/v1")),
        _ => replay.url(),
    }
}

/// The model a recording was made with: the body's, or (llama.cpp sends
/// none) the folder's.
fn model_for(
    vendor: Vendor,
    replay: &Replay,
    body: &Value,
    path: &Path,
    root: &Path,
    log: std::sync::Arc<typecall_tests::RequestLog>,
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
        .base_url(at_replay(vendor, replay))
        .retry(RetryPolicy::none())
        .observe(log)
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
    let image = last.response.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && v.iter().any(|t| t.starts_with("image/"))
    });
    if last.request.method == "GET" && image {
        // An image model's picture (Pollinations' flux): `replay_images`.
        return Ok(None);
    }
    if last.request.method == "GET" {
        let client = OpenAiCompat::vendor(vendor, Some(KEY.into()))
            .base_url(replay.url())
            .retry(RetryPolicy::none());
        return match client.list_models().await {
            Err(e) if e.kind() == ErrorKind::Auth && !format!("{e} {e:?}").contains(KEY) => {
                Ok(None)
            }
            Ok(m) if status == 200 && !m.is_empty() => Ok(None),
            other => Err(format!("HTTP {status}: {other:?}")),
        };
    }
    let body = last.request.body.clone().ok_or("no request body")?;
    let (request, stream) = recorded_request(vendor, &body);
    let model = model_for(vendor, &replay, &body, &path, &root, Default::default());
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
        serde_json::from_str::<Value>(data)
            .is_ok_and(|v| v.get("error").is_some_and(Value::is_object))
    });
    if status == 200 && relayed_error {
        return match &result {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::BadRequest | ErrorKind::Server | ErrorKind::Unsupported
                ) =>
            {
                Ok(None)
            }
            other => Err(format!("a relayed error read as {other:?}")),
        };
    }
    if status != 200 {
        let ok = match (&result, status) {
            (Err(e), _) if e.kind() == ErrorKind::Unsupported => true,
            (Err(e), 401..=403) if e.kind() == ErrorKind::Auth => true,
            (Err(e), 400 | 404) if e.kind() == ErrorKind::ModelNotFound => true,
            (Err(e), 400 | 404 | 422) if e.kind() == ErrorKind::BadRequest => {
                e.status() == Some(status)
            }
            (Err(e), 500..) if e.kind() == ErrorKind::Server => e.status() == Some(status),
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
    // Speech made: the recorded audio, its media type read from its bytes.
    let recorded_audio = serde_json::from_str::<Value>(&last.response.body)
        .ok()
        .and_then(|b| {
            b["choices"][0]["message"]["audio"]["data"]
                .as_str()
                .map(str::to_owned)
        });
    let made: Vec<String> = resp
        .media
        .iter()
        .filter_map(|m| match &m.source {
            typecall::chat::MediaSource::Base64(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    if made != Vec::from_iter(recorded_audio.clone()) {
        return Err(format!(
            "{} media, recorded {}",
            made.len(),
            recorded_audio.is_some() as u8
        ));
    }
    if let Some(m) = resp.media.first()
        && (!m.media_type.starts_with("audio/") || m.bytes().map_or(true, |b| b.is_empty()))
    {
        return Err(format!(
            "speech read as {} ({:?})",
            m.media_type,
            m.bytes().map(|b| b.len())
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
    for folder in VENDOR_FOLDERS {
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
        // Pollinations routes each request to a model of its choosing: its
        // blocking and streamed answers may come from different models.
        if vendor != Vendor::Pollinations {
            let _ = sync_stream_pairs(&answers);
        }
    }
    assert_tree_replayed(total, &failures, 500);
}

/// A request by meaning for the agent comparison: arguments as parsed JSON;
/// without `parallel_tool_calls` and the tool results' `name` (the agent
/// always asks for parallel calls and names each result; some recording
/// clients left both out).
fn by_meaning(v: &Value) -> Value {
    let mut v = normalized_chat(v);
    if let Some(o) = v.as_object_mut() {
        o.remove("parallel_tool_calls");
    }
    for m in v["messages"].as_array_mut().into_iter().flatten() {
        if m["role"] == "tool"
            && let Some(o) = m.as_object_mut()
        {
            o.remove("name");
        }
        for c in m["tool_calls"].as_array_mut().into_iter().flatten() {
            let args: Value =
                serde_json::from_str(c["function"]["arguments"].as_str().unwrap_or("{}"))
                    .unwrap_or_default();
            c["function"]["arguments"] = args;
        }
    }
    v
}

#[tokio::test]
async fn the_recorded_vendor_tool_conversations_run_through_the_agent() {
    use std::sync::Arc;
    use typecall::Agent;
    use typecall::agent::ToolMode;
    use typecall::chat::ToolChoice;
    use typecall_tests::SquareRootConversation;
    let Some(dir) = recordings_dir("vendor agent replay") else {
        return;
    };
    let mut checked = 0;
    for folder in VENDOR_FOLDERS {
        let root = dir.join(folder);
        let Some(vendor) = Vendor::from_name(folder) else {
            continue;
        };
        let build = |c: &SquareRootConversation, log: Arc<typecall_tests::RequestLog>| {
            if c.second.response.status != 200 || c.first.response.status != 200 {
                return None;
            }
            // A first answer whose calls the recording client did not all send
            // back (Together's DeepSeek once added a second call, cut short)
            // is not the conversation the agent would have.
            let first_calls = facts_of(&c.first.response.body, c.stream).tool_calls.len();
            let sent_back = c.second.request.body.as_ref().unwrap()["messages"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["role"] == "assistant"))
                .and_then(|m| m["tool_calls"].as_array())
                .map_or(0, Vec::len);
            if first_calls != sent_back {
                skip(
                    &format!("vendor agent replay {}", c.second_path.display()),
                    "the recording client sent back fewer calls than the model made",
                );
                return None;
            }
            // After the tool result: `none`, or `auto` where the recording
            // client kept it (Xiaomi's).
            let after_tools = match c.second.request.body.as_ref().unwrap()["tool_choice"] == "auto"
            {
                true => ToolChoice::Auto,
                false => ToolChoice::None,
            };
            let first_body = c.first.request.body.clone().unwrap();
            let model = model_for(vendor, &c.replay, &first_body, &c.first_path, &root, log);
            let (first_req, _) = request_from_recorded(&first_body);
            let mut agent = Agent::new(model)
                .tool(SquareRoot)
                .tool_mode(ToolMode::Native)
                .strict_tools(first_body["tools"][0]["function"]["strict"] == true)
                .first_tool_choice(c.first_choice.clone())
                .tool_choice_after_tools(after_tools)
                .max_turns(3);
            if let Some(e) = first_req.reasoning_effort {
                agent = agent.reasoning_effort(e);
            }
            let prompt = first_req.messages.last().unwrap().text();
            Some((agent, prompt))
        };
        let same = |a: &Value, b: &Value| by_meaning(a) == by_meaning(b);
        let no_answer_text = |_: &str, _: bool| None;
        checked +=
            typecall_tests::replay_square_root_conversations(&root, build, same, no_answer_text)
                .await;
    }
    assert!(checked >= 10, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_vendor_json_answers_decode_through_extract() {
    use typecall::Extract;

    let Some(dir) = recordings_dir("vendor extract replay") else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for folder in VENDOR_FOLDERS {
        let root = dir.join(folder);
        let Some(vendor) = Vendor::from_name(folder) else {
            continue;
        };
        for path in typecall_tests::json_files(&root) {
            let Some(mode) = json_scenario_mode(&path) else {
                continue;
            };
            let all = interactions(&path);
            let last = all.last().unwrap().clone();
            let Some(body) = last.request.body.clone() else {
                // The recording client listed the models and sent nothing
                // (Pollinations' JSONSchema): no request to replay.
                continue;
            };
            let stream = body["stream"] == true;
            // Answered: an answer with something in it (Hugging Face's Llama
            // once streamed nothing but `[DONE]`).
            let answered = last.response.status == 200
                && !last.response.body.contains("\"error\"")
                && !facts_of(&last.response.body, stream)
                    .content
                    .trim()
                    .is_empty();
            let replay = Replay::from_interactions(all).unwrap();
            let model = model_for(vendor, &replay, &body, &path, &root, Default::default());
            // The conversation as sent (a Qwen switch rides in a text part
            // of its own, `\n\n/no_think`).
            let (request, _) = recorded_request(vendor, &body);
            let prompt = request.messages;
            let extract = Extract::<Fruit>::new(&model).mode(mode);
            let label = format!("{folder}/{}", path.strip_prefix(&root).unwrap().display());
            let result = typecall_tests::extract_value(extract, prompt, stream).await;
            match (answered, result) {
                (true, Ok(f)) if f.is_fruit => checked += 1,
                // A mode the vendor refuses (recorded as an error) is an
                // error here too, typed.
                (false, Err(_)) => checked += 1,
                (a, r) => failures.push(format!("{label}: answered {a}, got {r:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} files");
}

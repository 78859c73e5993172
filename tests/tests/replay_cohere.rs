//! Every recorded exchange of Cohere's v2 chat (`cohere/`) replayed through
//! `Cohere`: the request is built as recorded, the answer (blocking, or its
//! stream of typed events) reads into the recorded facts — text, thinking,
//! tool calls, citations, finish, usage —, refusals and failed answers are
//! typed errors; the SquareRoot conversation runs through `Agent`, the JSON
//! scenarios through `Extract`.

use std::path::PathBuf;

use serde_json::{Value, json};
use typecall::ErrorKind;
use typecall::chat::{ChatRequest, ChatResponse, CitationSource, ContentPart, Document};
use typecall::chat::{FinishReason, Message};
use typecall::provider::{Cohere, CohereModel, Model, RetryPolicy};
use typecall::testing::Replay;
use typecall_tests::replay::{normalized_chat, request_from_recorded};
use typecall_tests::{
    Fruit, assert_tree_replayed, interactions, recordings_dir, replay_tree, skip,
};

fn model(replay: &Replay, body: &Value) -> CohereModel {
    Cohere::new("replay")
        .base_url(replay.url().trim_end_matches("/v1"))
        .retry(RetryPolicy::none())
        .model(body["model"].as_str().unwrap_or_default())
}

/// The neutral request a recorded body means: its `documents` as document
/// parts before the first user message's text, `stop_sequences` as `stop`.
fn recorded_request(body: &Value) -> (ChatRequest, bool) {
    let mut v = body.clone();
    if let Some(stop) = v.as_object_mut().and_then(|o| o.remove("stop_sequences")) {
        v["stop"] = stop;
    }
    let (mut req, stream) = request_from_recorded(&v);
    let docs: Vec<ContentPart> = body["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let mut doc = Document {
                text: d["data"]["snippet"].as_str().unwrap_or_default().to_owned(),
                media_type: "text/plain".to_owned(),
                title: d["data"]["title"].as_str().map(str::to_owned),
                citations: true,
            };
            if doc.title.is_none() {
                doc.title = d["id"].as_str().map(str::to_owned);
            }
            ContentPart::Document(doc)
        })
        .collect();
    if let Some(Message::User { content }) = req.messages.first_mut() {
        content.splice(0..0, docs);
    }
    (req, stream)
}

/// What a recorded answer says: text, thinking, calls, finish reason (or
/// the error it ended with), output tokens, the number of citation sources.
#[derive(Debug, Default, PartialEq)]
struct Facts {
    text: String,
    thinking: String,
    calls: Vec<(String, Value)>,
    finish: String,
    error: Option<String>,
    output_tokens: u64,
    sources: usize,
}

fn facts(body: &str, stream: bool) -> Facts {
    let mut f = Facts::default();
    let sources = |c: &Value| c["sources"].as_array().map_or(0, Vec::len);
    if !stream {
        let v: Value = serde_json::from_str(body).unwrap();
        for part in v["message"]["content"].as_array().into_iter().flatten() {
            f.text += part["text"].as_str().unwrap_or_default();
            f.thinking += part["thinking"].as_str().unwrap_or_default();
        }
        for c in v["message"]["tool_calls"].as_array().into_iter().flatten() {
            let args = c["function"]["arguments"].as_str().unwrap_or_default();
            f.calls.push((
                c["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                serde_json::from_str(args).unwrap_or(Value::Null),
            ));
        }
        f.sources = v["message"]["citations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(sources)
            .sum();
        f.finish = v["finish_reason"].as_str().unwrap_or_default().to_owned();
        f.output_tokens = v["usage"]["tokens"]["output_tokens"].as_u64().unwrap_or(0);
        return f;
    }
    let mut args: Vec<String> = Vec::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        let m = &v["delta"]["message"];
        match v["type"].as_str().unwrap_or_default() {
            "content-delta" => {
                f.text += m["content"]["text"].as_str().unwrap_or_default();
                f.thinking += m["content"]["thinking"].as_str().unwrap_or_default();
            }
            "tool-call-start" => {
                let name = m["tool_calls"]["function"]["name"].as_str().unwrap_or("");
                f.calls.push((name.to_owned(), Value::Null));
                args.push(String::new());
            }
            "tool-call-delta" => {
                if let Some(a) = args.last_mut() {
                    *a += m["tool_calls"]["function"]["arguments"]
                        .as_str()
                        .unwrap_or("");
                }
            }
            "citation-start" => f.sources += sources(&m["citations"]),
            "message-end" => {
                f.finish = v["delta"]["finish_reason"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                f.error = v["delta"]["error"].as_str().map(str::to_owned);
                f.output_tokens = v["delta"]["usage"]["tokens"]["output_tokens"]
                    .as_u64()
                    .unwrap_or(0);
            }
            _ => {}
        }
    }
    for (call, a) in f.calls.iter_mut().zip(args) {
        call.1 = serde_json::from_str(&a).unwrap_or(Value::Null);
    }
    f
}

async fn check_file(path: PathBuf) -> Result<Option<ChatResponse>, String> {
    let all = interactions(&path);
    let last = all.last().ok_or("no interactions")?.clone();
    if !last.request.url.ends_with("/v2/chat") {
        return Ok(None); // the model list of the bad-key errors
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
            Err(e) if e.status() == Some(last.response.status) => Ok(None),
            Err(e) => Err(format!("HTTP {}: error {e}", last.response.status)),
            Ok(r) => Err(format!("HTTP {}: answered {r:?}", last.response.status)),
        };
    }
    let want = facts(&last.response.body, stream);
    if let Some(error) = &want.error {
        // An answer that failed mid-stream (`finish_reason: ERROR`).
        return match result {
            Err(e) if e.to_string().contains(error.as_str()) => Ok(None),
            other => Err(format!("ended with {error:?}, read {other:?}")),
        };
    }
    let resp = result.map_err(|e| format!("unexpected error: {e}"))?;
    if resp.text() != want.text || resp.reasoning.as_deref().unwrap_or("") != want.thinking {
        return Err(format!(
            "text {:?} / {:?}, recorded {:?} / {:?}",
            resp.content, resp.reasoning, want.text, want.thinking
        ));
    }
    let calls: Vec<(String, Value)> = resp
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.parsed_arguments().unwrap_or(Value::Null)))
        .collect();
    if calls != want.calls {
        return Err(format!("tool calls {calls:?}, recorded {:?}", want.calls));
    }
    let finish = match want.finish.as_str() {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        other => FinishReason::Other(other.to_owned()),
    };
    if resp.finish_reason != finish || resp.usage.completion_tokens != want.output_tokens {
        return Err(format!(
            "finish {:?} / {:?}, recorded {} / {}",
            resp.finish_reason, resp.usage, want.finish, want.output_tokens
        ));
    }
    if resp.citations.len() != want.sources {
        return Err(format!(
            "{} citations, recorded {} sources",
            resp.citations.len(),
            want.sources
        ));
    }
    Ok(Some(resp))
}

#[tokio::test]
async fn every_recorded_cohere_exchange_replays() {
    let Some(dir) = recordings_dir("cohere replay") else {
        return;
    };
    let root = dir.join("cohere");
    if !root.is_dir() {
        skip("cohere replay", "no cohere/ recordings");
        return;
    }
    let (checked, failures, answers) = replay_tree(&root, &[], check_file).await;
    assert_tree_replayed(checked, &failures, 30);
    // Documents are cited into the document (its index, the span's place in
    // it); a tool's result is cited by its call.
    let mut documents = 0;
    for (name, r) in &answers {
        for c in &r.citations {
            match &c.source {
                CitationSource::Document {
                    index: 0,
                    start,
                    end,
                    title: Some(_),
                } if end > start => documents += 1,
                CitationSource::ToolResult { call_id } if !call_id.contains(':') => {}
                other => panic!("{name}: citation {other:?}"),
            }
        }
    }
    assert!(documents >= 4, "only {documents} document citations");
}

#[tokio::test]
async fn an_unknown_model_a_bad_key_and_an_unsupported_image_are_typed() {
    let Some(dir) = recordings_dir("cohere errors replay") else {
        return;
    };
    let root = dir.join("cohere");
    let replay = |p: &str| Replay::from_interactions(interactions(&root.join(p))).unwrap();
    let ask = ChatRequest::new(vec![Message::user("Tell a short joke.")]);
    for (file, model, kind) in [
        (
            "errors/bad_model/GenSync.json",
            "bad model",
            ErrorKind::ModelNotFound,
        ),
        (
            "errors/bad_apiKey/GenSync.json",
            "command-r7b-12-2024",
            ErrorKind::Auth,
        ),
    ] {
        if !root.join(file).exists() {
            skip("cohere errors replay", &format!("no {file}"));
            continue;
        }
        let r = replay(file);
        let m = model_of(&r, model);
        let e = m.chat(&ask).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{file}: {e}");
        assert!(
            !format!("{e:?}").contains("replay\""),
            "the key is not shown"
        );
    }
}

fn model_of(replay: &Replay, name: &str) -> CohereModel {
    model(replay, &json!({ "model": name }))
}

#[tokio::test]
async fn the_recorded_cohere_tool_conversation_runs_through_the_agent() {
    use std::sync::Arc;
    use typecall::Agent;
    use typecall::agent::ToolMode;
    use typecall::chat::ToolChoice;
    use typecall_tests::{SquareRoot, SquareRootConversation};
    let Some(dir) = recordings_dir("cohere agent replay") else {
        return;
    };
    let root = dir.join("cohere");
    let build = |c: &SquareRootConversation, log: Arc<typecall_tests::RequestLog>| {
        let first = c.first.request.body.as_ref()?;
        let m = Cohere::new("replay")
            .base_url(c.replay.url().trim_end_matches("/v1"))
            .retry(RetryPolicy::none())
            .observe(log)
            .model(first["model"].as_str()?);
        let agent = Agent::new(m)
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native)
            .first_tool_choice(ToolChoice::Required)
            .tool_choice_after_tools(ToolChoice::None)
            .max_turns(3);
        let prompt = first["messages"][0]["content"][0]["text"]
            .as_str()?
            .to_owned();
        Some((agent, prompt))
    };
    let same = |a: &Value, b: &Value| normalized_chat(a) == normalized_chat(b);
    let no_text = |_: &str, _: bool| None;
    let checked =
        typecall_tests::replay_square_root_conversations(&root, build, same, no_text).await;
    assert!(checked >= 2, "only {checked} conversations");
}

#[tokio::test]
async fn the_recorded_cohere_json_answers_decode_through_extract() {
    let Some(dir) = recordings_dir("cohere extract replay") else {
        return;
    };
    let (checked, failures) = typecall_tests::extract_recorded_json(
        &dir.join("cohere"),
        |replay, body, _| model(replay, body),
        |body| recorded_request(body).0.messages,
        |last, stream| {
            last.response.status == 200
                && serde_json::from_str::<Fruit>(facts(&last.response.body, stream).text.trim())
                    .is_ok()
        },
    )
    .await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 4, "only {checked} files");
}

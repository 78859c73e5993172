//! Structured output: recorded answers decode into typed values (blocking and
//! streaming, every model); repair against a scripted server; the partial parser.

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use typecall::chat::Message;
use typecall::output::{AnswerError, ExtractEvent, PartialJson};
use typecall::provider::RetryPolicy;
use typecall::testing::{Interaction, Replay};
use typecall::{Cerebras, ErrorKind, Extract, OpenAiCompat, OutputMode};
use typecall_tests::hostile::{HostileServer, Reply};
use typecall_tests::{Fruit, json_files, json_scenario_mode, read_json, recordings_dir};

#[tokio::test]
async fn every_recorded_json_answer_decodes_into_a_typed_value() {
    let Some(dir) = recordings_dir("structured output replay") else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in json_files(&dir.join("cerebras")) {
        let Some(mode) = json_scenario_mode(&path) else {
            continue;
        };
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let rec = read_json(&path);
        let interactions: Vec<Interaction> =
            serde_json::from_value(rec["interactions"].clone()).unwrap();
        let last = interactions.last().unwrap().clone();
        let body = last.request.body.clone().unwrap();
        let stream = body["stream"].as_bool().unwrap_or(false);
        // What the model said, read independently of typecall.
        let facts = typecall_tests::replay::facts_of(&last.response.body, stream);
        let (_, answer) = typecall::chat::split_think(&facts.content);
        let expected: Value = serde_json::from_str(answer.trim()).unwrap();
        let expected = expected["is_fruit"].as_bool().unwrap();

        let replay = Replay::from_interactions(interactions).unwrap();
        let model = Cerebras::new("k")
            .base_url(replay.url())
            .retry(RetryPolicy::none())
            .model(body["model"].as_str().unwrap());
        let messages: Vec<Message> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| Message::user(m["content"].as_str().unwrap()))
            .collect();
        let extract = Extract::<Fruit>::new(&model).mode(mode).name("").retries(0);
        let got = if stream {
            let mut s = extract.stream(messages).await.unwrap();
            let mut done = None;
            let mut partials = 0;
            while let Some(ev) = s.next().await {
                match ev {
                    Ok(ExtractEvent::Done(x)) => done = Some(Ok(x.value)),
                    Ok(ExtractEvent::Partial(_)) => partials += 1,
                    Ok(_) => {}
                    Err(e) => done = Some(Err(e)),
                }
            }
            assert!(partials >= 1, "{file}: no partial values");
            done.unwrap()
        } else {
            extract.run(messages).await.map(|x| x.value)
        };
        match got {
            Ok(f) if f.is_fruit == expected => checked += 1,
            other => failures.push(format!("{}: {other:?}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 30, "only {checked} recordings checked");
}

fn answer(text: &str) -> Value {
    json!({"id": "c", "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
}

/// A line of an invoice.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Line {
    item: String,
    cents: u32,
}

/// An invoice.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Invoice {
    number: String,
    lines: Vec<Line>,
    due: Option<String>,
}

#[tokio::test]
async fn a_bad_answer_is_repaired_with_the_errors_and_every_attempt_is_kept() {
    let server = HostileServer::start(vec![
        Reply::json(
            200,
            &answer("Sure, here you go: {\"number\": \"F-1\", \"lines\": ["),
        ),
        Reply::json(
            200,
            &answer(r#"{"number": "F-1", "lines": [{"item": "tea", "cents": -4}], "due": null}"#),
        ),
        Reply::json(
            200,
            &answer(
                r#"```json
{"number": "F-1", "lines": [{"item": "tea", "cents": 400}], "due": null}
```"#,
            ),
        ),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let out = Extract::<Invoice>::new(&model)
        .mode(OutputMode::Native)
        .retries(2)
        .run("Invoice F-1: tea 4.00")
        .await
        .unwrap();
    assert_eq!(
        out.value.lines,
        vec![Line {
            item: "tea".into(),
            cents: 400
        }]
    );
    assert_eq!(out.attempts.len(), 3);
    assert!(
        out.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("does not parse")
    );
    assert!(
        out.attempts[1]
            .error
            .as_deref()
            .unwrap()
            .contains("/lines/0/cents")
    );
    assert_eq!(out.usage.total_tokens, 45);
    let sent = server.bodies();
    assert_eq!(sent.len(), 3);
    // The second request carries the first answer and what was wrong with it.
    let msgs = sent[1]["messages"].as_array().unwrap();
    assert_eq!(msgs[msgs.len() - 2]["role"], "assistant");
    assert!(
        msgs[msgs.len() - 2]["content"]
            .as_str()
            .unwrap()
            .starts_with("Sure, here you go")
    );
    let repair = msgs.last().unwrap()["content"].as_str().unwrap();
    assert!(
        repair.contains("not valid JSON") && repair.contains("corrected JSON"),
        "{repair}"
    );
    let repair = sent[2]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(repair.contains("/lines/0/cents"), "{repair}");
    assert_eq!(sent[0]["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn when_every_attempt_fails_the_error_holds_every_raw_answer() {
    let raws = [
        "no json",
        r#"{"number": 7}"#,
        r#"{"number": "x", "lines": "none", "due": null}"#,
    ];
    let server =
        HostileServer::start(raws.iter().map(|r| Reply::json(200, &answer(r))).collect()).await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let err = Extract::<Invoice>::new(&model)
        .mode(OutputMode::Native)
        .retries(2)
        .run("x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Extraction, "{err:?}");
    assert!(err.to_string().contains("`Invoice`"), "{err}");
    let attempts = err.attempts();
    let got: Vec<&str> = attempts.iter().map(|a| a.raw.as_str()).collect();
    assert_eq!(got, raws);
    assert!(attempts.iter().all(|a| a.error.is_some()));
}

#[tokio::test]
async fn tool_mode_forces_a_tool_and_repairs_through_a_tool_result() {
    let call = |args: &str| {
        json!({"id": "c", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "tool_calls": [{"id": format!("t{}", args.len()), "type": "function",
            "function": {"name": "final_answer", "arguments": args}}]}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
    };
    let server = HostileServer::start(vec![
        Reply::json(200, &call(r#"{"is_fruit": "yes"}"#)),
        Reply::json(200, &call(r#"{"is_fruit": true}"#)),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let out = Extract::<Fruit>::new(&model)
        .mode(OutputMode::Tool)
        .run("Is a banana a fruit?")
        .await
        .unwrap();
    assert!(out.value.is_fruit);
    let sent = server.bodies();
    assert_eq!(sent[0]["tool_choice"], "required");
    assert_eq!(sent[0]["tools"][0]["function"]["name"], "final_answer");
    let msgs = sent[1]["messages"].as_array().unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(last["role"], "tool");
    assert!(last["content"].as_str().unwrap().contains("/is_fruit"));
}

#[tokio::test]
async fn auto_falls_back_when_the_server_refuses_a_mode_and_records_it() {
    let server = HostileServer::start(vec![
        Reply::json(
            400,
            &json!({"message": "response_format json_schema is not supported by this model"}),
        ),
        Reply::json(
            200,
            &json!({"id": "c", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "tool_calls": [{"id": "t", "type": "function",
                "function": {"name": "final_answer", "arguments": "{\"is_fruit\": false}"}}]}}]}),
        ),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let out = Extract::<Fruit>::new(&model)
        .run("Is a rock a fruit?")
        .await
        .unwrap();
    assert!(!out.value.is_fruit);
    assert_eq!(out.mode, OutputMode::Tool);
    assert_eq!(out.attempts[0].mode, OutputMode::Native);
    assert!(
        out.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("refused")
    );
}

#[tokio::test]
async fn non_object_roots_are_wrapped_and_items_stream_one_by_one() {
    let chunks: Vec<Value> = [r#"{"value": [{"item": "tea", "cents""#, r#": 1}, {"item": "cake", "#, r#""cents": 2}]}"#]
        .iter()
        .map(|c| json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": c}}]}))
        .chain([json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})])
        .collect();
    let server = HostileServer::start(vec![Reply::sse(&chunks)]).await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let mut items = Extract::<Vec<Line>>::new(&model)
        .stream_items::<Line>("Lines?")
        .await
        .unwrap();
    let first = items.next().await.unwrap().unwrap();
    assert_eq!(
        first,
        Line {
            item: "tea".into(),
            cents: 1
        }
    );
    let second = items.next().await.unwrap().unwrap();
    assert_eq!(second.item, "cake");
    assert!(items.next().await.is_none());
    let sent = server.bodies();
    assert_eq!(
        sent[0]["response_format"]["json_schema"]["schema"]["required"],
        json!(["value"])
    );
}

#[test]
fn decoder_errors_say_what_is_wrong() {
    use typecall::output::decode::extract_json;
    assert!(matches!(
        extract_json(r#"{"a": 1,}"#),
        Err(AnswerError::BadJson { .. })
    ));
    assert_eq!(
        extract_json("<think>{\"no\": 1}</think> ```json\n{\"a\": 1}\n```").unwrap(),
        json!({"a": 1})
    );
}

// ---------------------------------------------------------------------------
// The partial parser.

mod partial_props {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (-1e12f64..1e12).prop_map(|f| json!(f)),
            "[a-z \"\\\\/\\n\\tü😀{}\\[\\],:]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-z_\"]{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// `partial` holds nothing that the final value contradicts.
    fn consistent(partial: &Value, full: &Value) -> bool {
        match (partial, full) {
            (Value::Object(p), Value::Object(f)) => p
                .iter()
                .all(|(k, v)| f.get(k).is_some_and(|fv| consistent(v, fv))),
            (Value::Array(p), Value::Array(f)) => {
                p.len() <= f.len() && p.iter().zip(f).all(|(a, b)| consistent(a, b))
            }
            (Value::String(p), Value::String(f)) => f.starts_with(p.as_str()),
            (p, f) => p == f,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn any_split_of_any_document_parses_like_serde_json(
            root in prop_oneof![
                prop::collection::vec(json_value(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{1,5}", json_value()), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            pretty in any::<bool>(),
        ) {
            let text = if pretty { serde_json::to_string_pretty(&root).unwrap() } else { serde_json::to_string(&root).unwrap() };
            let serde: Value = serde_json::from_str(&text).unwrap();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(text.len() + 1)).filter(|p| text.is_char_boundary(*p)).collect();
            points.sort_unstable();
            let mut p = PartialJson::new();
            let mut last = 0;
            for cut in points.into_iter().chain([text.len()]) {
                p.push(&text[last..cut]);
                last = cut;
                if let Some(v) = p.value() {
                    prop_assert!(consistent(v, &serde), "partial {} vs {}", v, serde);
                }
            }
            p.finish();
            prop_assert!(p.error().is_none(), "{:?} for {}", p.error(), text);
            prop_assert!(p.is_complete());
            prop_assert_eq!(p.value().unwrap(), &serde);
        }
    }
}

#[tokio::test]
async fn settled_parts_are_judged_as_they_close_and_open_ones_are_not() {
    // The first line is complete and wrong (negative cents); the second is
    // still open when the first settles.
    let chunks: Vec<Value> = [r#"{"number": "F-9", "lines": [{"item": "tea", "cents": -1}"#, r#", {"item": "cake""#, r#", "cents": 2}], "due": null}"#]
        .iter()
        .map(|c| json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": c}}]}))
        .chain([json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})])
        .collect();
    let server = HostileServer::start(vec![
        Reply::sse(&chunks),
        Reply::json(
            200,
            &answer(r#"{"number": "F-9", "lines": [{"item": "tea", "cents": 1}], "due": null}"#),
        ),
    ])
    .await;
    let model = OpenAiCompat::new(&server.url).discovery(false).model("m");
    let mut s = Extract::<Invoice>::new(&model)
        .mode(OutputMode::Native)
        .retries(1)
        .stream("x")
        .await
        .unwrap();
    let mut settled = Vec::new();
    let mut done = None;
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            ExtractEvent::Settled {
                pointer, issues, ..
            } => settled.push((pointer, issues)),
            ExtractEvent::Done(x) => done = Some(x),
            _ => {}
        }
    }
    let first = settled
        .iter()
        .find(|(p, _)| p == "/lines/0")
        .expect("the first line settled");
    assert_eq!(first.1.len(), 1, "{:?}", first.1);
    assert_eq!(first.1[0].pointer, "/lines/0/cents");
    let second = settled
        .iter()
        .find(|(p, _)| p == "/lines/1")
        .expect("the second line settled");
    assert!(second.1.is_empty(), "{:?}", second.1);
    // The bad answer was repaired (blocking) and the final value is valid.
    let done = done.unwrap();
    assert_eq!(done.attempts.len(), 2);
    assert_eq!(done.value.lines[0].cents, 1);
}

#[tokio::test]
async fn a_scripted_model_streams_in_pieces_so_partial_values_grow() {
    let answer = r#"{"number": "F-17", "lines": [{"item": "tea", "cents": 350}, {"item": "cake", "cents": 420}], "due": "Dec 1"}"#;
    let model = typecall::testing::ScriptedModel::new().text(answer);
    let mut s = Extract::<Invoice>::new(&model)
        .mode(OutputMode::Native)
        .stream("x")
        .await
        .unwrap();
    let (mut partials, mut settled, mut done) = (Vec::new(), Vec::new(), None);
    while let Some(ev) = s.next().await {
        match ev.unwrap() {
            ExtractEvent::Partial(v) => partials.push(v),
            ExtractEvent::Settled { pointer, .. } => settled.push(pointer),
            ExtractEvent::Done(x) => done = Some(x),
            _ => {}
        }
    }
    assert!(partials.len() > 5, "{} partial values", partials.len());
    // A list element shows only once it is complete; values only grow.
    assert_eq!(partials.first().unwrap()["number"], Value::Null);
    for p in &partials {
        for line in p["lines"].as_array().into_iter().flatten() {
            assert!(
                line["cents"].is_number(),
                "an open list element showed: {p}"
            );
        }
    }
    for w in partials.windows(2) {
        assert!(w[1].to_string().len() >= w[0].to_string().len(), "{w:?}");
    }
    assert!(settled.contains(&"/lines/0".to_owned()));
    assert_eq!(done.unwrap().value.lines[1].cents, 420);
}

/// A support ticket, with a partial shape for streaming.
#[derive(Debug, Deserialize, JsonSchema, typecall::Partial)]
#[serde(rename_all = "camelCase")]
struct StreamedTicket {
    title: String,
    steps: Vec<StreamedStep>,
    assigned_to: Option<String>,
}

/// One step.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct StreamedStep {
    action: String,
    minutes: u16,
}

#[tokio::test]
async fn typed_partials_stream_with_the_types_own_fields_before_the_parts_that_settle() {
    let answer = r#"{"title": "Printer jammed on floor 2", "steps": [{"action": "Clear the tray", "minutes": 5}, {"action": "Restart it", "minutes": 2}], "assignedTo": null}"#;
    let model = typecall::testing::ScriptedModel::new().text(answer);
    let mut s = Extract::<StreamedTicket>::new(&model)
        .mode(OutputMode::Native)
        .stream("x")
        .await
        .unwrap();
    let mut titles = Vec::new();
    let mut step_counts = Vec::new();
    let mut last_partial: Option<Value> = None;
    while let Some(ev) = s.next().await {
        let ev = ev.unwrap();
        if let Some(p) = ev.partial() {
            // StreamedTicketPartial: the ticket's own field names and types.
            let p: StreamedTicketPartial = p;
            titles.extend(p.title.clone());
            step_counts.push(p.steps.as_ref().map_or(0, Vec::len));
            if let Some(first) = p.steps.as_ref().and_then(|s| s.first()) {
                assert_eq!(
                    first,
                    &StreamedStep {
                        action: "Clear the tray".into(),
                        minutes: 5
                    }
                );
            }
            assert!(p.assigned_to.is_none());
        }
        match ev {
            ExtractEvent::Partial(v) => last_partial = Some(v),
            ExtractEvent::Settled { pointer, value, .. } => {
                // The Partial just before holds what settled (a short answer).
                let shown = last_partial.as_ref().and_then(|p| p.pointer(&pointer));
                assert_eq!(
                    shown,
                    Some(&value),
                    "{pointer} settled before a Partial showed it"
                );
            }
            ExtractEvent::Done(done) => {
                let t = &done.value;
                assert_eq!(
                    (t.title.as_str(), t.steps.len()),
                    ("Printer jammed on floor 2", 2)
                );
                assert!(t.assigned_to.is_none());
            }
            _ => {}
        }
    }
    // The title grew as it arrived; the steps appeared one by one.
    assert!(
        titles.len() > 2 && titles.first() != titles.last(),
        "{titles:?}"
    );
    assert_eq!(titles.last().unwrap(), "Printer jammed on floor 2");
    assert!(
        step_counts.contains(&1) && step_counts.last() == Some(&2),
        "{step_counts:?}"
    );
}

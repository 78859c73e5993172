//! Property-based fuzz targets for everything that reads what a server or a
//! model sends: the SSE parser, the stream decoder (chunks → events, tool-call
//! assembly), the partial JSON parser, tool-argument decoding, header parsing
//! (rate limits, retry waits) and recorded-body decoding. No input may panic,
//! abort or grow without bound.
//!
//! In the test command each target runs a few thousand deterministic cases;
//! `scripts/fuzz [SECONDS]` runs each for longer with random seeds
//! (`TYPECALL_FUZZ_SECONDS` per target) and prints the cases run.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner};

use crate::chat::{RateLimits, StreamAccumulator, StreamEvent};
use crate::error::Result;
use crate::output::PartialJson;
use crate::provider::Limits;
use crate::provider::sse::{SseEvent, SseParser};
use crate::provider::wire_fuzz::Decode;

/// Runs `test` on values of `strategy`: `cases` deterministic ones, or as many
/// random ones as fit in `TYPECALL_FUZZ_SECONDS`. A failure is shrunk and
/// reported with the smallest input found.
fn fuzz<S>(name: &str, cases: u64, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let budget = std::env::var("TYPECALL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = match budget {
        Some(_) => TestRunner::new(config),
        None => TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
    };
    let t0 = Instant::now();
    let mut n = 0u64;
    while match budget {
        Some(b) => t0.elapsed() < b,
        None => n < cases,
    } {
        let tree = strategy
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("fuzz {name}: no input could be made: {e}"));
        if let Err(e) = runner.run_one(tree, &test) {
            panic!("fuzz {name}: failed after {n} cases: {e}");
        }
        n += 1;
    }
    println!(
        "fuzz {name}: {n} cases, 0 failures in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// Splits `bytes` at the given points (each taken modulo the length).
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    if bytes.is_empty() {
        return vec![Vec::new()];
    }
    let mut points: Vec<usize> = cuts.iter().map(|c| c % bytes.len()).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect()
}

/// Text that looks like JSON often enough to reach deep states.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\[\\]{}\",:0-9a-z \\\\.eE+-]{0,200}",
        proptest::collection::vec(
            prop_oneof![
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("[".to_owned()),
                Just("]".to_owned()),
                Just(",".to_owned()),
                Just(":".to_owned()),
                Just("\"k\"".to_owned()),
                Just("\"\\u12".to_owned()),
                Just("\\ud83d\\ude00".to_owned()),
                Just("true".to_owned()),
                Just("nul".to_owned()),
                Just("1e400".to_owned()),
                Just("-0.5".to_owned()),
                Just("\"é\"".to_owned()),
            ],
            0..80
        )
        .prop_map(|parts| parts.concat()),
    ]
}

#[test]
fn fuzz_sse_parser() {
    let input = (
        proptest::collection::vec(
            prop_oneof![
                Just(b"data: ".to_vec()),
                Just(b"event: x".to_vec()),
                Just(b": keep-alive".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(vec![0xff, 0xc3]),
                proptest::collection::vec(any::<u8>(), 0..20),
                "[a-z{}\":]{0,20}".prop_map(String::into_bytes),
            ],
            0..60,
        )
        .prop_map(|p| p.concat()),
        proptest::collection::vec(any::<usize>(), 0..8),
    );
    fuzz("sse_parser", 3000, input, |(bytes, cuts)| {
        let run = |chunks: &[Vec<u8>]| -> (Vec<SseEvent>, bool, usize) {
            let mut p = SseParser::new();
            let mut out = Vec::new();
            let mut ok = true;
            let mut most_buffered = 0;
            for c in chunks {
                ok &= p.push(c, &mut out).is_ok();
                most_buffered = most_buffered.max(p.buffered());
                if !ok {
                    break;
                }
            }
            if ok {
                ok &= p.finish(&mut out).is_ok();
            }
            (out, ok, most_buffered)
        };
        let whole = run(std::slice::from_ref(&bytes));
        let parts = run(&split(&bytes, &cuts));
        // It holds at most what it was given.
        prop_assert!(whole.2 <= bytes.len() && parts.2 <= bytes.len());
        // Whatever the chunking, the same events (up to a first error).
        if whole.1 && parts.1 {
            prop_assert_eq!(whole.0, parts.0);
        }
        Ok(())
    });
}

/// Decodes a streamed body given in chunks: every event, the last one the end.
fn decode(chunks: &[Vec<u8>], limits: &Limits) -> Vec<Result<StreamEvent>> {
    decode_with(crate::provider::wire_fuzz::decoder(limits), chunks)
}

/// As [`decode`], with any provider's decoder.
fn decode_with(mut decoder: impl Decode, chunks: &[Vec<u8>]) -> Vec<Result<StreamEvent>> {
    let mut out = VecDeque::new();
    for c in chunks {
        decoder.push(c, &mut out);
    }
    decoder.finish(&mut out);
    out.into_iter().collect()
}

fn tool_call_piece() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(String::new()),
            (0u64..4).prop_map(|i| format!("\"index\": {i},")),
            Just("\"index\": 18446744073709551615,".to_owned()),
            Just("\"index\": -1,".to_owned()),
            Just("\"index\": 1e300,".to_owned()),
        ],
        prop_oneof![
            Just(String::new()),
            "[ab]".prop_map(|id| format!("\"id\": \"{id}\",")),
            Just("\"id\": null,".to_owned()),
        ],
        prop_oneof![
            Just(String::new()),
            Just("\"name\": \"f\",".to_owned()),
            Just("\"name\": \"f\", \"name\": 3,".to_owned()),
        ],
        prop_oneof![
            Just("{\\\"x\\\": 1}".to_owned()),
            Just("{\\\"x\\\":".to_owned()),
            Just(" 2}".to_owned()),
            Just(String::new()),
        ],
    )
        .prop_map(|(index, id, name, args)| {
            format!(
                "{{{index}{id}\"type\": \"function\", \"function\": {{{name}\"arguments\": \"{args}\"}}}}"
            )
        })
}

fn stream_chunk() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}".prop_map(|t| format!(
            r#"{{"id":"c","model":"m","choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}"#
        )),
        Just(r#"{"choices":[{"delta":{"content":"<think>hm</th"}}]}"#.to_owned()),
        proptest::collection::vec(tool_call_piece(), 1..4).prop_map(|p| format!(
            r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{}]}}}}]}}"#,
            p.join(",")
        )),
        Just(r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":18446744073709551615,"total_tokens":-4}}"#.to_owned()),
        Just(r#"{"error":{"message":"boom"},"status_code":99999}"#.to_owned()),
        Just("[DONE]".to_owned()),
        jsonish(),
    ]
}

/// What every decoder must do, whatever it is given: the same events however
/// the body is cut, exactly one end (the whole answer or an error) and last,
/// at most `max_calls` tool calls, each announced ready once under its position.
fn check_decoded(
    whole: &[Result<StreamEvent>],
    parts: &[Result<StreamEvent>],
    max_calls: usize,
) -> TestCaseResult {
    let show = |events: &[Result<StreamEvent>]| -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Ok(ev) => format!("{ev:?}"),
                Err(err) => format!("error: {err}"),
            })
            .collect()
    };
    prop_assert_eq!(show(whole), show(parts));
    // Exactly one end, last: the whole answer or an error.
    let ends = whole
        .iter()
        .filter(|e| matches!(e, Ok(StreamEvent::Done(_)) | Err(_)))
        .count();
    prop_assert_eq!(ends, 1);
    prop_assert!(matches!(
        whole.last(),
        Some(Ok(StreamEvent::Done(_)) | Err(_))
    ));
    if let Some(Ok(StreamEvent::Done(r))) = whole.last() {
        prop_assert!(r.tool_calls.len() <= max_calls);
        // Every call was announced ready once, under the position it has.
        let ready: Vec<usize> = whole
            .iter()
            .filter_map(|e| match e {
                Ok(StreamEvent::ToolCallReady { index, .. }) => Some(*index),
                _ => None,
            })
            .collect();
        let mut unique = ready.clone();
        unique.dedup();
        prop_assert_eq!(&ready, &unique);
        for i in ready {
            prop_assert!(i < r.tool_calls.len());
        }
    }
    Ok(())
}

#[test]
fn fuzz_stream_decoder() {
    let input = (
        proptest::collection::vec(stream_chunk(), 0..12),
        proptest::collection::vec(any::<usize>(), 0..8),
        1usize..6,
    );
    fuzz(
        "stream_decoder",
        2000,
        input,
        |(chunks, cuts, max_calls)| {
            let body: Vec<u8> = chunks
                .iter()
                .flat_map(|c| format!("data: {c}\n\n").into_bytes())
                .collect();
            let limits = Limits::default().max_tool_calls(max_calls);
            let whole = decode(std::slice::from_ref(&body), &limits);
            let parts = decode(&split(&body, &cuts), &limits);
            check_decoded(&whole, &parts, max_calls)
        },
    );
}

#[test]
fn fuzz_accumulator_with_wild_indices() {
    let delta = (
        any::<usize>(),
        proptest::option::of("[ab]{0,2}"),
        proptest::option::of("[fg]{0,3}"),
        proptest::option::of("[{}x:1]{0,4}"),
    );
    fuzz(
        "accumulator",
        3000,
        proptest::collection::vec(delta, 0..40),
        |deltas| {
            let mut acc = StreamAccumulator::default();
            let n = deltas.len();
            for (index, id, name, arguments) in deltas {
                let d = crate::chat::ChunkDelta {
                    tool_calls: vec![crate::chat::ToolCallDelta {
                        index,
                        id,
                        name,
                        arguments,
                    }],
                    ..Default::default()
                };
                acc.push(d);
            }
            let (_, r) = acc.finish();
            // Positions never have gaps: no more calls than pieces.
            prop_assert!(r.tool_calls.len() <= n);
            Ok(())
        },
    );
}

#[test]
fn fuzz_partial_json() {
    let input = (jsonish(), proptest::collection::vec(any::<usize>(), 0..8));
    fuzz("partial_json", 4000, input, |(text, cuts)| {
        let mut p = PartialJson::new();
        let mut last_version = p.version();
        // Text deltas are whole UTF-8 strings: cut at character boundaries.
        let cuts: Vec<usize> = cuts
            .iter()
            .map(|c| {
                let mut at = c % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at += 1;
                }
                at
            })
            .collect();
        for chunk in split(text.as_bytes(), &cuts) {
            let chunk = std::str::from_utf8(&chunk);
            prop_assert!(chunk.is_ok(), "a cut inside a character");
            p.push(chunk.unwrap_or_default());
            let _ = p.take_settled();
            if p.version() != last_version {
                prop_assert!(p.value().is_some());
                last_version = p.version();
            }
            // The value without open list elements is there with the value.
            prop_assert_eq!(p.complete_items().is_some(), p.value().is_some());
        }
        p.finish();
        if p.is_complete() {
            let items = p.complete_items();
            prop_assert_eq!(items.as_ref(), p.value());
        }
        // A complete document reads as serde_json reads it.
        if p.is_complete()
            && p.error().is_none()
            && let Some(start) = text.find(['{', '['])
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text[start..])
        {
            prop_assert_eq!(p.value(), Some(&v));
        }
        Ok(())
    });
}

/// A place in a contract.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Place {
    /// A name.
    name: String,
    /// Coordinates.
    at: Option<[f64; 2]>,
    /// Tags.
    tags: Vec<Tag>,
}

/// A tag.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
enum Tag {
    /// Near.
    Near,
    /// Far, by so much.
    Far(u8),
}

/// Books a place.
#[crate::tool]
fn book(
    /// Where.
    place: Place,
    /// How many nights.
    nights: u16,
) -> String {
    format!("{} for {nights}", place.name)
}

#[test]
fn fuzz_tool_arguments() {
    let toolbox = crate::tool::Toolbox::new()
        .with(Book)
        .expect("the tool builds");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let input = prop_oneof![
        jsonish(),
        Just(r#"{"place": {"name": "x", "at": [1, 2], "tags": ["Near", {"Far": 300}]}, "nights": 70000}"#.to_owned()),
        Just(format!("{{\"place\": {}}}", "[".repeat(5000))),
    ];
    fuzz("tool_arguments", 2000, input, |args| {
        let out = rt.block_on(toolbox.call("book", &args));
        if let Err(e) = &out {
            prop_assert!(
                matches!(
                    e,
                    crate::tool::ToolError::NotJson { .. }
                        | crate::tool::ToolError::InvalidArguments { .. }
                ),
                "{e:?}"
            );
            prop_assert!(!e.to_string().is_empty());
        }
        Ok(())
    });
}

#[test]
fn fuzz_headers() {
    let value = prop_oneof![
        "[0-9.eE+-]{0,12}",
        Just("1e300".to_owned()),
        Just("inf".to_owned()),
        Just("NaN".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("Sun, 06 Nov 1994 08:49:37 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        "[A-Za-z0-9 ,:]{0,32}",
    ];
    let name = prop_oneof![
        Just("retry-after".to_owned()),
        Just("retry-after-ms".to_owned()),
        "x-ratelimit-(limit|remaining|reset)-(requests|tokens|x)-(minute|hour|day|)",
        "[a-z-]{0,20}",
    ];
    let input = (proptest::collection::vec((name, value), 0..10), 100u16..600);
    fuzz("headers", 4000, input, |(headers, status)| {
        let limits =
            RateLimits::from_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        prop_assert!(limits.limits.len() <= 6);
        let _ = limits.exhausted_reset();
        let _ = crate::provider::http_fuzz::retry_wait(status, &headers);
        for (_, v) in &headers {
            let _ = crate::wire_numbers::parse_retry_after(v, std::time::SystemTime::now());
        }
        Ok(())
    });
}

/// Every recorded response body (JSON answers and streams).
fn recorded_bodies() -> Vec<String> {
    let dir = std::env::var_os("TYPECALL_RECORDINGS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/recordings")
        });
    let mut bodies = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json")
                && let Ok(text) = std::fs::read_to_string(&p)
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            {
                for i in v["interactions"].as_array().into_iter().flatten() {
                    match &i["response"]["body"] {
                        serde_json::Value::String(s) => bodies.push(s.clone()),
                        serde_json::Value::Null => {}
                        other => bodies.push(other.to_string()),
                    }
                }
            }
        }
    }
    bodies.sort();
    bodies
}

#[test]
fn fuzz_recorded_bodies() {
    let bodies = recorded_bodies();
    if bodies.is_empty() {
        println!("SKIPPED fuzz_recorded_bodies: no recordings (set TYPECALL_RECORDINGS)");
        return;
    }
    let n = bodies.len();
    let input = (
        0..n,
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6),
    );
    fuzz("recorded_bodies", 2000, input, |(which, edits)| {
        let mut bytes = bodies[which].clone().into_bytes();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at % bytes.len();
            match kind {
                0 => bytes.truncate(at),
                1 => bytes[at] = byte,
                _ => bytes.insert(at, byte),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        // Every provider's readers, blocking and streamed, on every body.
        let _ = crate::provider::openai_compat::stream::parse_chat_stream(&bytes);
        let _ = crate::provider::openai_compat::decode::parse_chat_response(&text);
        let _ = crate::provider::anthropic::parse_message_stream(&bytes);
        let _ = crate::provider::anthropic::parse_message(&text);
        let _ = crate::provider::gemini::parse_response_stream(&bytes);
        let _ = crate::provider::gemini::parse_response(&text);
        let _ = crate::provider::openai_responses::parse_response_stream(&bytes);
        let _ = crate::provider::openai_responses::parse_response(&text);
        Ok(())
    });
}

/// One event of an Anthropic Messages stream, well-formed or hostile.
fn anthropic_event() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("3".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("-1".to_owned()),
        Just("1e300".to_owned()),
        Just("null".to_owned()),
    ];
    let block = prop_oneof![
        Just(r#"{"type":"text","text":""}"#.to_owned()),
        Just(r#"{"type":"thinking","thinking":""}"#.to_owned()),
        Just(r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#.to_owned()),
        Just(r#"{"type":"server_tool_use","id":"s","name":"web_search","input":{}}"#.to_owned()),
        Just(
            r#"{"type":"web_search_tool_result","tool_use_id":"s","content":[{"url":"u"}]}"#
                .to_owned()
        ),
        Just(r#"{"type":"redacted_thinking","data":"x"}"#.to_owned()),
        Just("7".to_owned()),
        Just("null".to_owned()),
    ];
    let delta = prop_oneof![
        "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"text_delta","text":"{t}"}}"#)),
        "[a-z]{0,4}".prop_map(|t| format!(r#"{{"type":"thinking_delta","thinking":"{t}"}}"#)),
        Just(r#"{"type":"signature_delta","signature":"sig"}"#.to_owned()),
        prop_oneof![
            Just("{\\\"x\\\": ".to_owned()),
            Just("1}".to_owned()),
            Just("".to_owned()),
            Just("]".to_owned())
        ]
        .prop_map(|j| format!(r#"{{"type":"input_json_delta","partial_json":"{j}"}}"#)),
        number.clone().prop_map(|n| format!(
            r#"{{"type":"citations_delta","citation":{{"type":"char_location","cited_text":"c","document_index":{n},"start_char_index":{n},"end_char_index":1}}}}"#
        )),
        Just(r#"{"type":"text_delta","text":7}"#.to_owned()),
    ];
    prop_oneof![
        number.clone().prop_map(|n| format!(
            r#"{{"type":"message_start","message":{{"id":"m","model":"x","content":[],"usage":{{"input_tokens":{n},"output_tokens":1}}}}}}"#
        )),
        Just(r#"{"type":"message_start","message":7}"#.to_owned()),
        (number.clone(), block).prop_map(|(n, b)| format!(
            r#"{{"type":"content_block_start","index":{n},"content_block":{b}}}"#
        )),
        (0u64..3, delta).prop_map(|(i, d)| format!(
            r#"{{"type":"content_block_delta","index":{i},"delta":{d}}}"#
        )),
        (0u64..3).prop_map(|i| format!(r#"{{"type":"content_block_stop","index":{i}}}"#)),
        number.prop_map(|n| format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn"}},"usage":{{"output_tokens":{n},"cache_read_input_tokens":{n}}}}}"#
        )),
        Just(r#"{"type":"message_delta","delta":7,"usage":[]}"#.to_owned()),
        Just(r#"{"type":"message_stop"}"#.to_owned()),
        Just(r#"{"type":"ping"}"#.to_owned()),
        Just(r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#.to_owned()),
        Just("not json".to_owned()),
    ]
}

#[test]
fn fuzz_anthropic_stream() {
    let input = (
        proptest::collection::vec(anthropic_event(), 0..14),
        proptest::collection::vec(any::<usize>(), 0..8),
        1usize..4,
    );
    fuzz(
        "anthropic_stream",
        2000,
        input,
        |(events, cuts, max_calls)| {
            let body: Vec<u8> = events
                .iter()
                .flat_map(|e| format!("event: x\ndata: {e}\n\n").into_bytes())
                .collect();
            let limits = Limits::default().max_tool_calls(max_calls);
            let decoder = || crate::provider::wire_fuzz::anthropic_decoder(&limits);
            let whole = decode_with(decoder(), std::slice::from_ref(&body));
            let parts = decode_with(decoder(), &split(&body, &cuts));
            check_decoded(&whole, &parts, max_calls)
        },
    );
}

/// One event of an OpenAI Responses stream, well-formed or hostile.
fn responses_event() -> impl Strategy<Value = String> {
    let index = prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("-1".to_owned()),
        Just("null".to_owned()),
    ];
    let item = prop_oneof![
        Just(r#"{"type":"function_call","call_id":"c","name":"f","arguments":""}"#.to_owned()),
        Just(
            r#"{"type":"function_call","call_id":"c","name":"f","arguments":"{\"x\":1}"}"#
                .to_owned()
        ),
        Just(r#"{"type":"message","content":[{"type":"output_text","text":"hi"}]}"#.to_owned()),
        Just(r#"{"type":"reasoning","summary":[{"text":"t"}]}"#.to_owned()),
        Just("7".to_owned()),
    ];
    let output = proptest::collection::vec(item.clone(), 0..4).prop_map(|items| items.join(","));
    prop_oneof![
        "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"response.output_text.delta","delta":"{t}"}}"#)),
        "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"type":"response.reasoning_summary_text.delta","delta":"{t}"}}"#)),
        (index.clone(), item.clone()).prop_map(|(i, it)| format!(
            r#"{{"type":"response.output_item.added","output_index":{i},"item":{it}}}"#
        )),
        index.clone().prop_map(|i| format!(
            r#"{{"type":"response.function_call_arguments.delta","output_index":{i},"delta":"{{"}}"#
        )),
        (index, item).prop_map(|(i, it)| format!(
            r#"{{"type":"response.output_item.done","output_index":{i},"item":{it}}}"#
        )),
        output.clone().prop_map(|o| format!(
            r#"{{"type":"response.completed","response":{{"id":"r","status":"completed","output":[{o}],"usage":{{"input_tokens":1e300,"output_tokens":-1}}}}}}"#
        )),
        output.prop_map(|o| format!(
            r#"{{"type":"response.incomplete","response":{{"id":"r","status":"incomplete","incomplete_details":{{"reason":"max_output_tokens"}},"output":[{o}]}}}}"#
        )),
        Just(r#"{"type":"response.failed","response":{"status":"failed","error":{"message":"x"}}}"#.to_owned()),
        Just(r#"{"type":"response.completed","response":7}"#.to_owned()),
        Just(r#"{"type":"error","code":"server_error","message":"boom"}"#.to_owned()),
        Just(r#"{"type":"error","code":"rate_limit_exceeded","message":"slow"}"#.to_owned()),
        Just("[DONE]".to_owned()),
        Just("not json".to_owned()),
    ]
}

#[test]
fn fuzz_responses_stream() {
    let input = (
        proptest::collection::vec(responses_event(), 0..12),
        proptest::collection::vec(any::<usize>(), 0..8),
        1usize..4,
    );
    fuzz(
        "responses_stream",
        2000,
        input,
        |(events, cuts, max_calls)| {
            let body: Vec<u8> = events
                .iter()
                .flat_map(|e| format!("data: {e}\n\n").into_bytes())
                .collect();
            let limits = Limits::default().max_tool_calls(max_calls);
            let decoder = || crate::provider::wire_fuzz::responses_decoder(&limits);
            let whole = decode_with(decoder(), std::slice::from_ref(&body));
            let parts = decode_with(decoder(), &split(&body, &cuts));
            check_decoded(&whole, &parts, max_calls)
        },
    );
}

/// One chunk of a Gemini stream, well-formed or hostile.
fn gemini_chunk() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"text":"{t}"}}"#)),
        "[a-z ]{0,4}".prop_map(|t| format!(r#"{{"text":"{t}","thought":true}}"#)),
        Just(r#"{"text":"x","thoughtSignature":"sig"}"#.to_owned()),
        Just(
            r#"{"functionCall":{"id":"c","name":"f","args":{"x":1}},"thoughtSignature":"s"}"#
                .to_owned()
        ),
        Just(r#"{"functionCall":7}"#.to_owned()),
        Just(r#"{"functionCall":{"id":"c","name":"f","args":"x"}}"#.to_owned()),
        Just(r#"{"functionCall":{"name":"f","args":[1]}}"#.to_owned()),
        Just("{}".to_owned()),
        Just(r#"{"text":7}"#.to_owned()),
        Just("null".to_owned()),
    ];
    let parts = proptest::collection::vec(part, 0..3).prop_map(|p| p.join(","));
    let finish = prop_oneof![
        Just(String::new()),
        Just(r#","finishReason":"STOP""#.to_owned()),
        Just(r#","finishReason":"MAX_TOKENS""#.to_owned()),
        Just(r#","finishReason":7"#.to_owned()),
        Just(r#","finishReason":"MALFORMED_FUNCTION_CALL""#.to_owned()),
    ];
    let usage = prop_oneof![
        Just(String::new()),
        Just(r#","usageMetadata":{"promptTokenCount":1e300,"candidatesTokenCount":-1,"thoughtsTokenCount":18446744073709551615}"#.to_owned()),
    ];
    prop_oneof![
        (parts, finish, usage).prop_map(|(p, f, u)| format!(
            r#"{{"candidates":[{{"content":{{"parts":[{p}],"role":"model"}}{f}}}]{u}}}"#
        )),
        Just(r#"{"candidates":[{"content":7}]}"#.to_owned()),
        Just(r#"{"candidates":7}"#.to_owned()),
        Just(r#"{"promptFeedback":{"blockReason":"SAFETY"}}"#.to_owned()),
        Just(r#"{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}"#.to_owned()),
        Just(r#"{"candidates":[{"finishReason":"STOP"},{"content":7}]}"#.to_owned()),
        Just(r#"{"error":{"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#.to_owned()),
        Just(r#"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#.to_owned()),
        Just(r#"{"error":{"code":99999999999,"message":"odd"}}"#.to_owned()),
        Just("not json".to_owned()),
    ]
}

#[test]
fn fuzz_gemini_stream() {
    let input = (
        proptest::collection::vec(gemini_chunk(), 0..10),
        proptest::collection::vec(any::<usize>(), 0..8),
        1usize..4,
    );
    fuzz("gemini_stream", 2000, input, |(chunks, cuts, max_calls)| {
        let body: Vec<u8> = chunks
            .iter()
            .flat_map(|c| format!("data: {c}\r\n\r\n").into_bytes())
            .collect();
        let limits = Limits::default().max_tool_calls(max_calls);
        let decoder = || crate::provider::wire_fuzz::gemini_decoder(&limits);
        let whole = decode_with(decoder(), std::slice::from_ref(&body));
        let parts = decode_with(decoder(), &split(&body, &cuts));
        check_decoded(&whole, &parts, max_calls)
    });
}

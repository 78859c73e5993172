//! typecall against hostile servers: every case ends in a typed result within
//! a time bound, and within a memory bound (peak RSS, measured per case).
//!
//! Each case runs in a child process of this binary (`--fault-case NAME`), so
//! its peak RSS (`VmHWM`) is its own, and a crash or abort in one case is
//! reported as that case's failure instead of killing the run. The parent
//! prints one line per case and the closing `N passed, N failed` line.
//! `faults NAME…` runs only the cases whose names contain one of the words.

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use typecall::agent::AgentStop;
use typecall::chat::{ChatRequest, Message};
use typecall::output::{ExtractEvent, OutputMode};
use typecall::provider::{Limits, OpenAiCompatModel, RetryPolicy};
use typecall::tool::ToolError;
use typecall::{Agent, Error, ErrorKind, Extract, Model, OpenAiCompat, ToolMode, tool};
use typecall_tests::hostile::{Body, HostileServer, Reply, sse_bytes};

type CaseResult = Result<(), String>;
type CaseFuture = Pin<Box<dyn Future<Output = CaseResult> + Send>>;

/// One hostile situation.
struct Case {
    name: &'static str,
    /// The longest the case may take.
    max_time: Duration,
    /// The most memory the child process may have held (peak RSS).
    max_rss_mib: u64,
    run: fn() -> CaseFuture,
}

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

macro_rules! case {
    ($name:ident, $secs:expr, $mib:expr) => {
        Case {
            name: stringify!($name),
            max_time: Duration::from_millis(($secs * 1000.0) as u64),
            max_rss_mib: $mib,
            run: || Box::pin($name()),
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        // Absurd numbers.
        case!(retry_after_of_1e20_seconds_is_returned_not_slept, 5.0, 64),
        case!(retry_after_ms_of_inf_is_returned_not_slept, 5.0, 64),
        case!(retry_after_as_an_http_date_is_honoured, 5.0, 64),
        case!(rate_limit_resets_of_1e300_do_not_panic, 5.0, 64),
        case!(usage_near_u64_max_saturates_across_turns, 5.0, 64),
        // Aborts.
        case!(a_tool_call_index_of_u64_max_allocates_nothing, 5.0, 64),
        case!(
            deeply_nested_brackets_are_an_error_not_a_stack_overflow,
            10.0,
            96
        ),
        case!(too_many_tool_calls_are_refused, 5.0, 64),
        // Unbounded memory.
        case!(a_1_gib_body_announced_is_refused_before_reading, 5.0, 64),
        case!(a_1_gib_body_unannounced_stops_at_the_limit, 10.0, 64),
        case!(a_1_gib_streamed_body_stops_at_the_limit, 10.0, 64),
        case!(a_1_gib_sse_line_stops_at_the_event_limit, 10.0, 64),
        // Unbounded time.
        case!(keep_alives_forever_end_at_the_stream_deadline, 5.0, 64),
        case!(keep_alives_forever_end_at_the_agent_deadline, 5.0, 64),
        case!(a_silent_server_ends_at_the_agent_deadline, 5.0, 64),
        case!(a_sleeping_tool_is_cut_at_the_agent_deadline, 5.0, 64),
        case!(a_silent_server_is_not_asked_twice, 5.0, 64),
        case!(a_slow_drip_ends_at_the_timeout, 5.0, 64),
        // The native providers share the stream driver; their decoders
        // have their own bounds.
        case!(native_providers_stop_a_1_gib_event_at_the_limit, 20.0, 64),
        case!(native_providers_stop_a_1_gib_answer_at_the_limit, 20.0, 64),
        case!(native_providers_end_keep_alives_at_the_deadline, 8.0, 64),
        case!(
            ollama_lines_stop_at_the_limit_and_blank_lines_at_the_deadline,
            8.0,
            64
        ),
        // The native protocols' own quirks.
        case!(gemini_non_object_args_never_go_back, 5.0, 64),
        case!(
            gemini_blocked_prompts_are_typed_alike_and_not_retried,
            5.0,
            64
        ),
        case!(gemini_many_tiny_parts_stay_small_in_memory, 60.0, 400),
        case!(
            gemini_a_million_streamed_parts_merge_in_linear_time,
            60.0,
            256
        ),
        case!(gemini_reused_call_ids_keep_their_signatures, 5.0, 64),
        case!(gemini_a_malformed_call_is_asked_for_again, 5.0, 64),
        case!(responses_calls_keep_their_arguments_in_any_order, 5.0, 64),
        case!(anthropic_deltas_of_an_unstarted_block_are_refused, 5.0, 64),
        case!(in_stream_rate_limits_are_rate_limited_everywhere, 5.0, 64),
        // The agent loop and server quirks.
        case!(reused_call_ids_make_a_valid_conversation, 5.0, 64),
        case!(missing_call_ids_make_a_valid_conversation, 5.0, 64),
        case!(streamed_indices_starting_at_1_run_each_call_once, 5.0, 64),
        case!(streamed_calls_without_index_are_not_merged, 5.0, 64),
        case!(an_index_reused_with_new_ids_is_two_calls, 5.0, 64),
        case!(repeated_name_deltas_are_not_concatenated, 5.0, 64),
        // The classics.
        case!(a_429_without_a_wait_is_retried, 5.0, 64),
        case!(a_429_with_a_short_wait_is_retried_after_it, 5.0, 64),
        case!(server_errors_then_success, 5.0, 64),
        case!(a_reset_mid_stream_is_a_connection_error, 5.0, 64),
        case!(an_error_object_in_the_stream_is_typed, 5.0, 64),
        case!(a_truncated_stream_is_a_connection_error, 5.0, 64),
        case!(invalid_utf8_in_a_stream_is_a_protocol_error, 5.0, 64),
        case!(garbage_json_is_a_protocol_error, 5.0, 64),
        case!(empty_error_bodies_are_typed, 5.0, 64),
        case!(a_408_is_a_request_timeout, 5.0, 64),
    ]
}

// ---------------------------------------------------------------- helpers

fn model(server: &HostileServer) -> OpenAiCompatModel {
    OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(40)))
        .model("m")
}

fn ask() -> ChatRequest {
    ChatRequest::new(vec![Message::user("hi")])
}

fn text_answer(text: &str) -> Value {
    json!({"id": "c", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
}

fn calls_answer(calls: &[(&str, &str, Value)]) -> Value {
    let calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    json!({"id": "c", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": calls}, "finish_reason": "tool_calls"}]})
}

fn delta(d: Value) -> Value {
    json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": d}]})
}

fn finish(reason: &str) -> Value {
    json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
}

/// A streamed answer of these tool-call pieces, ending with `tool_calls`.
fn streamed_calls(pieces: &[Value]) -> Reply {
    let mut chunks: Vec<Value> = pieces
        .iter()
        .map(|p| delta(json!({"tool_calls": [p]})))
        .collect();
    chunks.push(finish("tool_calls"));
    Reply::sse(&chunks)
}

fn streamed_text(text: &str) -> Reply {
    Reply::sse(&[delta(json!({"content": text})), finish("stop")])
}

static RUNS: AtomicUsize = AtomicUsize::new(0);
static SEEN: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

/// The square root of a number, rounded to 2 decimals.
#[tool]
fn square_root(
    /// The number.
    number: f64,
) -> f64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut s) = SEEN.lock() {
        s.push(number);
    }
    (number.sqrt() * 100.0).round() / 100.0
}

/// Sleeps for a long time.
#[tool]
async fn sleep_long() -> String {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "woke".into()
}

fn check(ok: bool, what: impl std::fmt::Display) -> CaseResult {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

fn expect_err<T: std::fmt::Debug>(r: typecall::Result<T>) -> Result<Error, String> {
    match r {
        Ok(v) => Err(format!("expected an error, got {v:?}")),
        Err(e) => Ok(e),
    }
}

/// Asks a server that answers `replies` (retries on): the error, and the
/// server (to count requests).
async fn chat_err(replies: Vec<Reply>) -> Result<(Error, HostileServer), String> {
    let server = HostileServer::start(replies).await;
    let err = expect_err(model(&server).chat(&ask()).await)?;
    Ok((err, server))
}

/// Streams an answer to its end: the error it ended in.
async fn stream_err(m: &OpenAiCompatModel) -> Result<Error, String> {
    let stream = m.stream(&ask()).await.map_err(|e| e.to_string())?;
    expect_err(typecall::provider::collect(stream).await)
}

/// Whether `err` is the limit set by `setting`.
fn over_limit(err: &Error, setting: &str) -> CaseResult {
    check(
        err.limit_setting().is_some_and(|(s, _)| s == setting) && err.to_string().contains(setting),
        format!("{err}"),
    )
}

/// Runs an agent to its end, blocking or streaming; the run (or the error).
async fn run_agent(agent: &Agent, streaming: bool) -> typecall::Result<typecall::Run> {
    if !streaming {
        return agent.run("go").await;
    }
    typecall::agent::collect(agent.run_stream("go").await?).await
}

/// Every tool call id of every request's conversation is unique, and every
/// tool result answers a call.
fn ids_are_unique(server: &HostileServer) -> CaseResult {
    for body in server.bodies() {
        let mut ids = std::collections::HashSet::new();
        for m in body["messages"].as_array().into_iter().flatten() {
            for c in m["tool_calls"].as_array().into_iter().flatten() {
                let id = c["id"].as_str().unwrap_or_default().to_owned();
                check(
                    !id.is_empty() && ids.insert(id.clone()),
                    format!("id `{id}` empty or repeated in {body}"),
                )?;
            }
            if m["role"] == "tool" {
                let id = m["tool_call_id"].as_str().unwrap_or_default();
                check(
                    ids.contains(id),
                    format!("tool result for unknown id `{id}`"),
                )?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- absurd numbers

async fn retry_after_of_1e20_seconds_is_returned_not_slept() -> CaseResult {
    let (err, server) = chat_err(vec![
        Reply::json(429, &json!({"message": "slow down"})).header("retry-after", "1e20"),
    ])
    .await?;
    check(
        err.kind() == ErrorKind::RateLimited && err.retry_after() == Some(Duration::MAX),
        format!("{err:?}"),
    )?;
    check(
        err.retry_after() == Some(Duration::MAX),
        "retry_after() through the error",
    )?;
    check(
        server.requests() == 1,
        "a wait past max_wait is not slept and not retried",
    )
}

async fn retry_after_ms_of_inf_is_returned_not_slept() -> CaseResult {
    let (err, _server) = chat_err(vec![
        Reply::json(429, &json!({}))
            .header("retry-after-ms", "inf")
            .header("retry-after", "1e300"),
    ])
    .await?;
    check(
        err.kind() == ErrorKind::RateLimited && err.retry_after().is_some(),
        format!("{err:?}"),
    )
}

async fn retry_after_as_an_http_date_is_honoured() -> CaseResult {
    // A date in the past: retry at once; a date far ahead: give up at once.
    let server = HostileServer::start(vec![
        Reply::json(503, &json!({})).header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
        Reply::json(200, &text_answer("ok")),
    ])
    .await;
    let r = model(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    check(
        r.text() == "ok" && server.requests() == 2,
        "retried after a past date",
    )?;
    let (err, server) = chat_err(vec![
        Reply::json(429, &json!({})).header("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ])
    .await?;
    check(
        err.kind() == ErrorKind::RateLimited
            && err
                .retry_after()
                .is_some_and(|d| d > Duration::from_secs(365 * 24 * 3600)),
        format!("{err:?}"),
    )?;
    check(server.requests() == 1, "not retried")
}

async fn rate_limit_resets_of_1e300_do_not_panic() -> CaseResult {
    let server = HostileServer::start(vec![
        Reply::json(200, &text_answer("ok"))
            .header("x-ratelimit-reset-tokens-minute", "1e300")
            .header("x-ratelimit-reset-requests-day", "inf")
            .header(
                "x-ratelimit-remaining-tokens-minute",
                "99999999999999999999999",
            )
            .header("x-ratelimit-limit-tokens-minute", "-5"),
    ])
    .await;
    let r = model(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    let tokens = r
        .rate_limits
        .limits
        .iter()
        .find(|l| l.window == typecall::chat::RateLimitWindow::Minute);
    check(
        tokens.and_then(|l| l.reset) == Some(Duration::MAX),
        format!("{:?}", r.rate_limits),
    )?;
    // Exhausted with an absurd reset: a 429 is returned, not slept.
    let (err, server) = chat_err(vec![
        Reply::json(429, &json!({}))
            .header("x-ratelimit-remaining-tokens-minute", "0")
            .header("x-ratelimit-reset-tokens-minute", "1e300"),
    ])
    .await?;
    check(
        err.kind() == ErrorKind::RateLimited && server.requests() == 1,
        format!("{err:?}"),
    )
}

async fn usage_near_u64_max_saturates_across_turns() -> CaseResult {
    let huge = json!({"prompt_tokens": u64::MAX - 1, "completion_tokens": u64::MAX, "total_tokens": u64::MAX, "completion_tokens_details": {"reasoning_tokens": u64::MAX}});
    let mut first = calls_answer(&[("a", "square_root", json!({"number": 4}))]);
    first["usage"] = huge.clone();
    let mut second = text_answer("done");
    second["usage"] = huge;
    let server =
        HostileServer::start(vec![Reply::json(200, &first), Reply::json(200, &second)]).await;
    let run = Agent::new(model(&server))
        .tool(SquareRoot)
        .tool_mode(ToolMode::Native)
        .run("go")
        .await
        .map_err(|e| e.to_string())?;
    check(
        run.usage.total_tokens == u64::MAX && run.usage.reasoning_tokens == Some(u64::MAX),
        format!("{:?}", run.usage),
    )
}

// ---------------------------------------------------------------- aborts

async fn a_tool_call_index_of_u64_max_allocates_nothing() -> CaseResult {
    let reply = streamed_calls(&[
        json!({"index": u64::MAX, "id": "a", "type": "function", "function": {"name": "square_root", "arguments": ""}}),
        json!({"index": u64::MAX, "function": {"arguments": "{\"number\": 16}"}}),
        json!({"index": 1_000_000_000_000u64, "id": "b", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 9}"}}),
    ]);
    let server = HostileServer::start(vec![reply]).await;
    let r = typecall::provider::collect(
        model(&server)
            .stream(&ask())
            .await
            .map_err(|e| e.to_string())?,
    )
    .await
    .map_err(|e| e.to_string())?;
    check(r.tool_calls.len() == 2, format!("{:?}", r.tool_calls))?;
    check(
        r.tool_calls[0].arguments == "{\"number\": 16}" && r.tool_calls[1].id == "b",
        format!("{:?}", r.tool_calls),
    )
}

async fn deeply_nested_brackets_are_an_error_not_a_stack_overflow() -> CaseResult {
    let deep = "[".repeat(1_000_000);
    // Streamed into a partial value.
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Repeat {
            head: Vec::new(),
            piece: sse_bytes(&[delta(json!({"content": "[".repeat(10_000)}))], false),
            times: 100,
            tail: Vec::new(),
        },
    )])
    .await;
    let m = model(&server);
    let mut s = Extract::<Vec<Vec<u32>>>::new(&m)
        .mode(OutputMode::JsonMode)
        .retries(0)
        .stream("x")
        .await
        .map_err(|e| e.to_string())?;
    let mut ended_in_error = false;
    while let Some(ev) = s.next().await {
        match ev {
            Err(_) => ended_in_error = true,
            Ok(ExtractEvent::Done(_)) => return Err("a million brackets validated".into()),
            Ok(_) => {}
        }
    }
    check(ended_in_error, "the stream ended in an error")?;
    // Blocking.
    let server = HostileServer::start(vec![Reply::json(200, &text_answer(&deep))]).await;
    let m = model(&server);
    let err = expect_err(
        Extract::<Vec<Vec<u32>>>::new(&m)
            .mode(OutputMode::JsonMode)
            .retries(0)
            .run("x")
            .await,
    )?;
    check(err.kind() == ErrorKind::Extraction, format!("{err}"))?;
    // As tool arguments.
    let server = HostileServer::start(vec![
        Reply::json(
            200,
            &calls_answer(&[("a", "square_root", Value::String(deep.clone()))]),
        ),
        Reply::json(200, &text_answer("done")),
    ])
    .await;
    let run = Agent::new(model(&server))
        .tool(SquareRoot)
        .tool_mode(ToolMode::Native)
        .run("go")
        .await
        .map_err(|e| e.to_string())?;
    check(
        RUNS.load(Ordering::SeqCst) == 0 && run.tool_calls()[0].result.is_err(),
        "deep arguments are refused",
    )
}

async fn too_many_tool_calls_are_refused() -> CaseResult {
    let pieces: Vec<Value> = (0..200)
        .map(|i| json!({"index": i, "id": format!("c{i}"), "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 1}"}}))
        .collect();
    let server = HostileServer::start(vec![streamed_calls(&pieces)]).await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .limits(Limits::default().max_tool_calls(64))
        .model("m");
    let err = stream_err(&m).await?;
    check(
        err.limit_setting() == Some(("max_tool_calls", 64)),
        format!("{err}"),
    )?;
    check(
        err.to_string().contains("max_tool_calls"),
        "the message names the setting",
    )
}

// ---------------------------------------------------------------- memory

fn one_gib_of(piece: &[u8]) -> Body {
    Body::Repeat {
        head: Vec::new(),
        piece: piece.to_vec(),
        times: GIB / piece.len() as u64,
        tail: Vec::new(),
    }
}

async fn a_1_gib_body_announced_is_refused_before_reading() -> CaseResult {
    let (err, _server) = chat_err(vec![
        Reply::raw(200, "application/json", one_gib_of(&[b' '; 65536])).content_length(GIB),
    ])
    .await?;
    over_limit(&err, "max_body_bytes")
}

async fn a_1_gib_body_unannounced_stops_at_the_limit() -> CaseResult {
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/json",
        one_gib_of(&[b' '; 65536]),
    )])
    .await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .limits(Limits::default().max_body_bytes(8 << 20))
        .model("m");
    let err = expect_err(m.chat(&ask()).await)?;
    check(
        err.limit_setting() == Some(("max_body_bytes", 8 << 20)),
        format!("{err}"),
    )
}

async fn a_1_gib_streamed_body_stops_at_the_limit() -> CaseResult {
    let piece = sse_bytes(&[delta(json!({"content": "x".repeat(60_000)}))], false);
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        one_gib_of(&piece),
    )])
    .await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .limits(Limits::default().max_body_bytes(8 << 20))
        .model("m");
    let err = stream_err(&m).await?;
    over_limit(&err, "max_body_bytes")
}

async fn a_1_gib_sse_line_stops_at_the_event_limit() -> CaseResult {
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Repeat {
            head: b"data: {\"choices\": [{\"delta\": {\"content\": \"".to_vec(),
            piece: vec![b'x'; 65536],
            times: GIB / 65536,
            tail: Vec::new(),
        },
    )])
    .await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .limits(Limits::default().max_event_bytes(4 << 20))
        .model("m");
    let err = stream_err(&m).await?;
    over_limit(&err, "max_event_bytes")
}

/// Each native provider's model against `url`, with `limits`.
fn native_models(url: &str, limits: Limits) -> Vec<(&'static str, Box<dyn Model>)> {
    vec![
        (
            "anthropic",
            Box::new(
                typecall::Anthropic::new("k")
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .limits(limits.clone())
                    .model("m"),
            ),
        ),
        (
            "gemini",
            Box::new(
                typecall::Gemini::new("k")
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .limits(limits.clone())
                    .model("m"),
            ),
        ),
        (
            "openai_responses",
            Box::new(
                typecall::OpenAiResponses::new("k")
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .limits(limits.clone())
                    .model("m"),
            ),
        ),
        (
            "cloudflare",
            Box::new(
                typecall::Cloudflare::new("a", "k")
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .limits(limits.clone())
                    .model("m"),
            ),
        ),
        (
            "cohere",
            Box::new(
                typecall::provider::Cohere::new("k")
                    .base_url(url)
                    .retry(RetryPolicy::none())
                    .limits(limits)
                    .model("m"),
            ),
        ),
    ]
}

async fn native_stream_err(m: &dyn Model) -> Result<Error, String> {
    let stream = m.stream(&ask()).await.map_err(|e| e.to_string())?;
    expect_err(typecall::provider::collect(stream).await)
}

async fn native_providers_stop_a_1_gib_event_at_the_limit() -> CaseResult {
    for head in [
        &b"data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\""[..],
        &b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\""[..],
        &b"data: {\"type\":\"response.output_text.delta\",\"delta\":\""[..],
        &b"data: {\"response\":\""[..],
        &b"data: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"text\":\""[..],
    ] {
        let server = HostileServer::start(vec![Reply::raw(
            200,
            "text/event-stream",
            Body::Repeat {
                head: head.to_vec(),
                piece: vec![b'x'; 65536],
                times: GIB / 65536,
                tail: Vec::new(),
            },
        )])
        .await;
        for (name, m) in native_models(&server.url, Limits::default().max_event_bytes(4 << 20)) {
            let err = native_stream_err(m.as_ref()).await?;
            over_limit(&err, "max_event_bytes").map_err(|e| format!("{name}: {e}"))?;
        }
    }
    Ok(())
}

async fn native_providers_stop_a_1_gib_answer_at_the_limit() -> CaseResult {
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/json",
        one_gib_of(&[b' '; 65536]),
    )])
    .await;
    for (name, m) in native_models(&server.url, Limits::default().max_body_bytes(8 << 20)) {
        let err = expect_err(m.chat(&ask()).await)?;
        over_limit(&err, "max_body_bytes").map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

async fn native_providers_end_keep_alives_at_the_deadline() -> CaseResult {
    let server = HostileServer::start(vec![keep_alive_forever()]).await;
    let t0 = Instant::now();
    for (name, m) in native_models(
        &server.url,
        Limits::default().stream_deadline(Duration::from_millis(400)),
    ) {
        let err = native_stream_err(m.as_ref()).await?;
        check(
            err.timeout_after() == Some(Duration::from_millis(400)),
            format!("{name}: {err}"),
        )?;
    }
    check(
        t0.elapsed() < Duration::from_secs(4),
        format!("took {:?}", t0.elapsed()),
    )
}

/// Ollama's NDJSON: a 1 GiB line stops at the event limit; blank lines
/// forever end at the stream deadline.
async fn ollama_lines_stop_at_the_limit_and_blank_lines_at_the_deadline() -> CaseResult {
    let ollama = |url: &str, limits: Limits| {
        typecall::provider::Ollama::new(url)
            .retry(RetryPolicy::none())
            .limits(limits)
            .model("m")
    };
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/x-ndjson",
        Body::Repeat {
            head: b"{\"message\":{\"content\":\"".to_vec(),
            piece: vec![b'x'; 65536],
            times: GIB / 65536,
            tail: Vec::new(),
        },
    )])
    .await;
    let m = ollama(&server.url, Limits::default().max_event_bytes(4 << 20));
    over_limit(&native_stream_err(&m).await?, "max_event_bytes")?;
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/x-ndjson",
        Body::Drip {
            head: Vec::new(),
            piece: b"\n".to_vec(),
            every: Duration::from_millis(20),
        },
    )])
    .await;
    let m = ollama(
        &server.url,
        Limits::default().stream_deadline(Duration::from_millis(400)),
    );
    let err = native_stream_err(&m).await?;
    check(
        err.timeout_after() == Some(Duration::from_millis(400)),
        format!("ollama: {err}"),
    )
}

// ---------------------------------------------------------------- time

fn keep_alive_forever() -> Reply {
    Reply::raw(
        200,
        "text/event-stream",
        Body::Drip {
            head: Vec::new(),
            piece: b": keep-alive\n\n".to_vec(),
            every: Duration::from_millis(20),
        },
    )
}

async fn keep_alives_forever_end_at_the_stream_deadline() -> CaseResult {
    let server = HostileServer::start(vec![keep_alive_forever()]).await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .limits(Limits::default().stream_deadline(Duration::from_millis(600)))
        .model("m");
    let t0 = Instant::now();
    let err = stream_err(&m).await?;
    check(
        err.timeout_after() == Some(Duration::from_millis(600)),
        format!("{err}"),
    )?;
    check(
        t0.elapsed() < Duration::from_secs(2),
        format!("took {:?}", t0.elapsed()),
    )
}

async fn agent_deadline_case(reply: Reply, streaming: bool) -> CaseResult {
    let server = HostileServer::start(vec![reply]).await;
    let agent = Agent::new(model(&server))
        .tool(SquareRoot)
        .deadline(Duration::from_millis(500));
    let t0 = Instant::now();
    let err = expect_err(run_agent(&agent, streaming).await)?;
    check(
        t0.elapsed() < Duration::from_millis(1500),
        format!("took {:?}", t0.elapsed()),
    )?;
    check(
        matches!(err.agent_stop(), Some(AgentStop::Deadline(_))),
        format!("{err}"),
    )
}

async fn keep_alives_forever_end_at_the_agent_deadline() -> CaseResult {
    agent_deadline_case(keep_alive_forever(), true).await
}

async fn a_silent_server_ends_at_the_agent_deadline() -> CaseResult {
    agent_deadline_case(Reply::Silence, false).await?;
    agent_deadline_case(Reply::Silence, true).await
}

async fn a_sleeping_tool_is_cut_at_the_agent_deadline() -> CaseResult {
    for streaming in [false, true] {
        let reply = if streaming {
            streamed_calls(&[
                json!({"index": 0, "id": "s", "type": "function", "function": {"name": "sleep_long", "arguments": "{}"}}),
            ])
        } else {
            Reply::json(200, &calls_answer(&[("s", "sleep_long", json!({}))]))
        };
        let server = HostileServer::start(vec![reply]).await;
        let agent = Agent::new(model(&server))
            .tool(SleepLong)
            .tool_mode(ToolMode::Native)
            .deadline(Duration::from_millis(500));
        let t0 = Instant::now();
        let err = expect_err(run_agent(&agent, streaming).await)?;
        check(
            t0.elapsed() < Duration::from_millis(1500),
            format!("took {:?}", t0.elapsed()),
        )?;
        if !matches!(err.agent_stop(), Some(AgentStop::Deadline(_))) {
            return Err(format!("{err}"));
        }
        let Some(run) = err.run() else {
            return Err(format!("{err}"));
        };
        let calls = run.tool_calls();
        check(
            calls.len() == 1 && matches!(calls[0].result, Err(ToolError::Cancelled { .. })),
            format!("{calls:?}"),
        )?;
    }
    Ok(())
}

async fn a_silent_server_is_not_asked_twice() -> CaseResult {
    let server = HostileServer::start(vec![Reply::Silence]).await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .timeout(Duration::from_millis(300))
        .model("m");
    let err = expect_err(m.chat(&ask()).await)?;
    check(err.kind() == ErrorKind::Timeout, format!("{err}"))?;
    check(
        server.requests() == 1,
        format!(
            "a POST that may have been done was sent {} times",
            server.requests()
        ),
    )?;
    // Opting in sends it again.
    let server = HostileServer::start(vec![Reply::Silence]).await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .timeout(Duration::from_millis(300))
        .retry(
            RetryPolicy::default()
                .max_retries(1)
                .backoff(Duration::from_millis(10), Duration::from_millis(10))
                .retry_unanswered_posts(true),
        )
        .model("m");
    let _ = expect_err(m.chat(&ask()).await)?;
    check(server.requests() == 2, "opted in: retried once")
}

async fn a_slow_drip_ends_at_the_timeout() -> CaseResult {
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/json",
        Body::Drip {
            head: b"{".to_vec(),
            piece: b" ".to_vec(),
            every: Duration::from_millis(50),
        },
    )])
    .await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .timeout(Duration::from_millis(600))
        .model("m");
    let t0 = Instant::now();
    let err = expect_err(m.chat(&ask()).await)?;
    check(
        err.kind() == ErrorKind::Timeout && t0.elapsed() < Duration::from_secs(2),
        format!("{err} after {:?}", t0.elapsed()),
    )
}

// ---------------------------------------------------------------- native protocols

fn gemini(server: &HostileServer) -> typecall::provider::GeminiModel {
    typecall::Gemini::new("k")
        .base_url(&server.url)
        .retry(RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(40)))
        .model("m")
}

/// A Gemini answer of these parts: a JSON body, or one SSE chunk.
fn gemini_answer(parts: Value, finish: &str, streaming: bool) -> Reply {
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}]});
    body_or_chunk(&answer, streaming)
}

/// `answer` as a JSON body, or as one SSE chunk.
fn body_or_chunk(answer: &Value, streaming: bool) -> Reply {
    if streaming {
        Reply::raw(
            200,
            "text/event-stream",
            Body::Bytes(sse_bytes(std::slice::from_ref(answer), false)),
        )
    } else {
        Reply::json(200, answer)
    }
}

/// A square-root agent on Gemini against a server answering `replies`: its
/// run, and the server (to read what was sent).
async fn gemini_agent_run(
    replies: Vec<Reply>,
    streaming: bool,
) -> Result<(typecall::Run, HostileServer), String> {
    let server = HostileServer::start(replies).await;
    let agent = Agent::new(gemini(&server))
        .tool(SquareRoot)
        .tool_mode(ToolMode::Native);
    let run = run_agent(&agent, streaming)
        .await
        .map_err(|e| format!("streaming={streaming}: {e}"))?;
    Ok((run, server))
}

async fn gemini_non_object_args_never_go_back() -> CaseResult {
    for streaming in [false, true] {
        let (run, server) = gemini_agent_run(
            vec![
            gemini_answer(
                json!([{"functionCall": {"name": "square_root", "args": "4"}, "thoughtSignature": "sig"}]),
                "STOP",
                streaming,
            ),
            gemini_answer(json!([{"text": "sorry"}]), "STOP", streaming),
        ],
            streaming,
        )
        .await?;
        check(run.text() == "sorry", run.text())?;
        let second = server.bodies().get(1).cloned().unwrap_or_default();
        let model_turn = &second["contents"][1];
        let call = &model_turn["parts"][0];
        check(
            call["functionCall"]["args"].is_object() && call["thoughtSignature"] == "sig",
            format!("streaming={streaming}: sent back {model_turn}"),
        )?;
        let response = &second["contents"][2]["parts"][0]["functionResponse"]["response"];
        check(
            response.get("error").is_some(),
            format!("streaming={streaming}: the model was not told: {response}"),
        )?;
    }
    Ok(())
}

async fn gemini_blocked_prompts_are_typed_alike_and_not_retried() -> CaseResult {
    let blocked = json!({"candidates": [], "promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": "no"}});
    for streaming in [false, true] {
        let reply = body_or_chunk(&blocked, streaming);
        let server = HostileServer::start(vec![reply]).await;
        let m = gemini(&server);
        let err = if streaming {
            native_stream_err(&m).await?
        } else {
            expect_err(m.chat(&ask()).await)?
        };
        check(
            err.blocked_reason() == Some(("SAFETY", Some("no")))
                && !err.is_retryable()
                && server.requests() == 1,
            format!(
                "streaming={streaming}: {err} after {} requests",
                server.requests()
            ),
        )?;
    }
    Ok(())
}

async fn gemini_many_tiny_parts_stay_small_in_memory() -> CaseResult {
    // 4.5 M one-letter parts: a 55 MB body, under the 64 MiB limit.
    let times = 4_500_000;
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "application/json",
        Body::Repeat {
            head: br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"a"}"#.to_vec(),
            piece: br#",{"text":"a"}"#.to_vec(),
            times,
            tail: br#"]},"finishReason":"STOP"}]}"#.to_vec(),
        },
    )])
    .await;
    let r = gemini(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    check(
        r.text().len() == times as usize + 1 && r.text().bytes().all(|b| b == b'a'),
        format!("{} letters", r.text().len()),
    )
}

async fn gemini_a_million_streamed_parts_merge_in_linear_time() -> CaseResult {
    // 10,000 chunks of 100 one-letter parts each, then the finish.
    let hundred = vec![json!({"text": "a"}); 100];
    let chunk = sse_bytes(
        &[json!({"candidates": [{"content": {"role": "model", "parts": hundred}}]})],
        false,
    );
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Repeat {
            head: Vec::new(),
            piece: chunk,
            times: 10_000,
            tail: sse_bytes(
                &[json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "!"}]}, "finishReason": "STOP"}]})],
                false,
            ),
        },
    )])
    .await;
    let stream = gemini(&server)
        .stream(&ask())
        .await
        .map_err(|e| e.to_string())?;
    let r = typecall::provider::collect(stream)
        .await
        .map_err(|e| e.to_string())?;
    check(
        r.text().len() == 1_000_001 && r.text().ends_with("a!"),
        format!("{} letters", r.text().len()),
    )
}

async fn gemini_reused_call_ids_keep_their_signatures() -> CaseResult {
    let call = |n: u32, sig: &str| json!([{"functionCall": {"id": "c1", "name": "square_root", "args": {"number": n}}, "thoughtSignature": sig}]);
    for streaming in [false, true] {
        let (run, server) = gemini_agent_run(
            vec![
                gemini_answer(call(4, "sig-1"), "STOP", streaming),
                gemini_answer(call(9, "sig-2"), "STOP", streaming),
                gemini_answer(json!([{"text": "2 and 3"}]), "STOP", streaming),
            ],
            streaming,
        )
        .await?;
        check(run.text() == "2 and 3", run.text())?;
        let third = server.bodies().get(2).cloned().unwrap_or_default();
        let contents = third["contents"].as_array().cloned().unwrap_or_default();
        let mut signatures = Vec::new();
        let mut call_ids = Vec::new();
        let mut result_ids = Vec::new();
        for part in contents
            .iter()
            .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
        {
            if let Some(sig) = part["thoughtSignature"].as_str() {
                signatures.push(sig.to_owned());
            }
            if let Some(id) = part["functionCall"]["id"].as_str() {
                call_ids.push(id.to_owned());
            }
            if let Some(id) = part["functionResponse"]["id"].as_str() {
                result_ids.push(id.to_owned());
            }
        }
        check(
            signatures == ["sig-1", "sig-2"]
                && call_ids == result_ids
                && call_ids.len() == 2
                && call_ids[0] != call_ids[1],
            format!(
                "streaming={streaming}: signatures {signatures:?}, calls {call_ids:?}, results {result_ids:?}"
            ),
        )?;
    }
    Ok(())
}

async fn gemini_a_malformed_call_is_asked_for_again() -> CaseResult {
    for streaming in [false, true] {
        RUNS.store(0, Ordering::SeqCst);
        let malformed = json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL", "finishMessage": "Malformed function call: print(square_root(4))"}]});
        let first = body_or_chunk(&malformed, streaming);
        let (run, server) = gemini_agent_run(
            vec![
                first,
                gemini_answer(
                    json!([{"functionCall": {"name": "square_root", "args": {"number": 4}}}]),
                    "STOP",
                    streaming,
                ),
                gemini_answer(json!([{"text": "2"}]), "STOP", streaming),
            ],
            streaming,
        )
        .await?;
        let asked_again = server
            .bodies()
            .get(1)
            .is_some_and(|b| b.to_string().contains("could not be read"));
        check(
            run.text() == "2" && RUNS.load(Ordering::SeqCst) == 1 && asked_again,
            format!(
                "streaming={streaming}: `{}` after {} runs, asked again: {asked_again}",
                run.text(),
                RUNS.load(Ordering::SeqCst)
            ),
        )?;
    }
    Ok(())
}

async fn responses_calls_keep_their_arguments_in_any_order() -> CaseResult {
    RUNS.store(0, Ordering::SeqCst);
    let call = |id: &str, args: &str| json!({"type": "function_call", "call_id": id, "name": "square_root", "arguments": args});
    let events = [
        json!({"type": "response.output_item.added", "output_index": 2, "item": call("c_rome", "")}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": call("c_oslo", "")}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{\"number\": 9}"}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{\"number\": 4}"}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": call("c_rome", "{\"number\": 9}")}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": call("c_oslo", "{\"number\": 4}")}),
        json!({"type": "response.completed", "response": {"id": "r1", "status": "completed", "output": [
            {"type": "reasoning", "summary": []},
            call("c_oslo", "{\"number\": 4}"),
            call("c_rome", "{\"number\": 9}"),
        ]}}),
    ];
    let done = json!({"type": "response.completed", "response": {"id": "r2", "status": "completed", "output": [
        {"type": "message", "content": [{"type": "output_text", "text": "2 and 3"}]}
    ]}});
    let server = HostileServer::start(vec![
        Reply::raw(
            200,
            "text/event-stream",
            Body::Bytes(sse_bytes(&events, false)),
        ),
        Reply::raw(
            200,
            "text/event-stream",
            Body::Bytes(sse_bytes(&[done], false)),
        ),
    ])
    .await;
    let m = typecall::OpenAiResponses::new("k")
        .base_url(&server.url)
        .retry(RetryPolicy::none())
        .model("m");
    let agent = Agent::new(m).tool(SquareRoot).tool_mode(ToolMode::Native);
    let run = run_agent(&agent, true).await.map_err(|e| e.to_string())?;
    check(run.text() == "2 and 3", run.text())?;
    let second = server.bodies().get(1).cloned().unwrap_or_default();
    let items = second["input"].as_array().cloned().unwrap_or_default();
    let mut args = std::collections::HashMap::new();
    let mut outputs = std::collections::HashMap::new();
    for item in &items {
        let id = item["call_id"].as_str().unwrap_or_default().to_owned();
        match item["type"].as_str() {
            Some("function_call") => {
                args.insert(
                    id,
                    item["arguments"]
                        .as_str()
                        .unwrap_or_default()
                        .replace(' ', ""),
                );
            }
            Some("function_call_output") => {
                outputs.insert(id, item["output"].as_str().unwrap_or_default().to_owned());
            }
            _ => {}
        }
    }
    let paired = |id: &str, arg: &str, out: &str| {
        // A stored conversation sends back only the results; a call sent
        // back must carry its own arguments.
        args.get(id).is_none_or(|a| a.contains(arg))
            && outputs.get(id).is_some_and(|o| o.starts_with(out))
    };
    check(
        paired("c_oslo", "4", "2")
            && paired("c_rome", "9", "3")
            && RUNS.load(Ordering::SeqCst) == 2,
        format!("sent back {args:?} with results {outputs:?}"),
    )
}

async fn anthropic_deltas_of_an_unstarted_block_are_refused() -> CaseResult {
    let events = [
        json!({"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant", "model": "m", "content": [], "usage": {"input_tokens": 1, "output_tokens": 0}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
        json!({"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "INJECTED"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        json!({"type": "message_stop"}),
    ];
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Bytes(sse_bytes(&events, false)),
    )])
    .await;
    let m = typecall::Anthropic::new("k")
        .base_url(&server.url)
        .retry(RetryPolicy::none())
        .model("m");
    let err = native_stream_err(&m).await?;
    check(
        err.kind() == ErrorKind::Protocol && !err.to_string().contains("HelINJECTED"),
        err,
    )
}

async fn in_stream_rate_limits_are_rate_limited_everywhere() -> CaseResult {
    let sse = |events: &[Value]| {
        Reply::raw(
            200,
            "text/event-stream",
            Body::Bytes(sse_bytes(events, false)),
        )
    };
    let cases: Vec<(&str, Reply)> = vec![
        (
            "chat completions",
            sse(&[
                json!({"error": {"message": "slow down", "type": "tokens", "code": "rate_limit_exceeded"}}),
            ]),
        ),
        (
            "anthropic",
            sse(&[
                json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
            ]),
        ),
        (
            "gemini",
            sse(&[json!({"error": {"message": "quota", "status": "RESOURCE_EXHAUSTED"}})]),
        ),
        (
            "openai_responses",
            sse(&[json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})]),
        ),
        (
            "openai_responses",
            sse(&[
                json!({"type": "response.failed", "response": {"status": "failed", "error": {"code": "rate_limit_exceeded", "message": "slow down"}}}),
            ]),
        ),
    ];
    for (name, reply) in cases {
        let server = HostileServer::start(vec![reply]).await;
        let err = if name == "chat completions" {
            let m = OpenAiCompat::new(&server.url)
                .discovery(false)
                .retry(RetryPolicy::none())
                .model("m");
            stream_err(&m).await?
        } else {
            let models = native_models(&server.url, Limits::default());
            let Some((_, m)) = models.into_iter().find(|(n, _)| *n == name) else {
                return Err(format!("no model {name}"));
            };
            native_stream_err(m.as_ref()).await?
        };
        check(
            err.kind() == ErrorKind::RateLimited && err.is_retryable(),
            format!("{name}: {err}"),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- agent quirks

async fn id_quirk_case(ids: [&str; 2]) -> CaseResult {
    for streaming in [false, true] {
        RUNS.store(0, Ordering::SeqCst);
        let replies = if streaming {
            vec![
                streamed_calls(&[
                    json!({"index": 0, "id": ids[0], "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 4}"}}),
                ]),
                streamed_calls(&[
                    json!({"index": 0, "id": ids[1], "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 9}"}}),
                ]),
                streamed_text("2 and 3"),
            ]
        } else {
            vec![
                Reply::json(
                    200,
                    &calls_answer(&[(ids[0], "square_root", json!({"number": 4}))]),
                ),
                Reply::json(
                    200,
                    &calls_answer(&[(ids[1], "square_root", json!({"number": 9}))]),
                ),
                Reply::json(200, &text_answer("2 and 3")),
            ]
        };
        let server = HostileServer::start(replies).await;
        let agent = Agent::new(model(&server))
            .tool(SquareRoot)
            .tool_mode(ToolMode::Native);
        let run = run_agent(&agent, streaming)
            .await
            .map_err(|e| format!("streaming={streaming}: {e}"))?;
        check(run.text() == "2 and 3", run.text())?;
        check(
            RUNS.load(Ordering::SeqCst) == 2,
            format!(
                "streaming={streaming}: ran {} times",
                RUNS.load(Ordering::SeqCst)
            ),
        )?;
        ids_are_unique(&server)?;
    }
    Ok(())
}

async fn reused_call_ids_make_a_valid_conversation() -> CaseResult {
    id_quirk_case(["call_0", "call_0"]).await
}

async fn missing_call_ids_make_a_valid_conversation() -> CaseResult {
    id_quirk_case(["", ""]).await
}

/// A streamed turn of `pieces`, then a final answer: each call runs once, with
/// these arguments.
async fn streamed_quirk_case(pieces: &[Value], expect: &[f64]) -> CaseResult {
    RUNS.store(0, Ordering::SeqCst);
    if let Ok(mut s) = SEEN.lock() {
        s.clear();
    }
    let server = HostileServer::start(vec![streamed_calls(pieces), streamed_text("ok")]).await;
    let agent = Agent::new(model(&server))
        .tool(SquareRoot)
        .tool_mode(ToolMode::Native);
    let run = run_agent(&agent, true).await.map_err(|e| e.to_string())?;
    let mut seen = SEEN.lock().map(|s| s.clone()).unwrap_or_default();
    seen.sort_by(f64::total_cmp);
    check(
        seen == expect,
        format!("ran with {seen:?}, expected {expect:?}"),
    )?;
    check(
        run.tool_calls().iter().all(|c| c.result.is_ok()),
        format!("{:?}", run.tool_calls()),
    )?;
    ids_are_unique(&server)
}

async fn streamed_indices_starting_at_1_run_each_call_once() -> CaseResult {
    streamed_quirk_case(
        &[
            json!({"index": 1, "id": "a", "type": "function", "function": {"name": "square_root", "arguments": ""}}),
            json!({"index": 1, "function": {"arguments": "{\"number\":"}}),
            json!({"index": 1, "function": {"arguments": " 4}"}}),
            json!({"index": 2, "id": "b", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 9}"}}),
        ],
        &[4.0, 9.0],
    )
    .await
}

async fn streamed_calls_without_index_are_not_merged() -> CaseResult {
    streamed_quirk_case(
        &[
            json!({"id": "a", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 4}"}}),
            json!({"id": "b", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 9}"}}),
            json!({"type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 16}"}}),
        ],
        &[4.0, 9.0, 16.0],
    )
    .await
}

async fn an_index_reused_with_new_ids_is_two_calls() -> CaseResult {
    streamed_quirk_case(
        &[
            json!({"index": 0, "id": "a", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 4}"}}),
            json!({"index": 0, "id": "b", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\": 9}"}}),
        ],
        &[4.0, 9.0],
    )
    .await
}

async fn repeated_name_deltas_are_not_concatenated() -> CaseResult {
    streamed_quirk_case(
        &[
            json!({"index": 0, "id": "a", "type": "function", "function": {"name": "square_root", "arguments": "{\"number\""}}),
            json!({"index": 0, "id": "a", "type": "function", "function": {"name": "square_root", "arguments": ": 25}"}}),
        ],
        &[25.0],
    )
    .await
}

// ---------------------------------------------------------------- classics

async fn a_429_without_a_wait_is_retried() -> CaseResult {
    let server = HostileServer::start(vec![
        Reply::json(429, &json!({"message": "busy"})),
        Reply::json(200, &text_answer("ok")),
    ])
    .await;
    let r = model(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    check(r.text() == "ok" && server.requests() == 2, "retried once")
}

async fn a_429_with_a_short_wait_is_retried_after_it() -> CaseResult {
    let server = HostileServer::start(vec![
        Reply::json(429, &json!({})).header("retry-after-ms", "300"),
        Reply::json(200, &text_answer("ok")),
    ])
    .await;
    let t0 = Instant::now();
    let r = model(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    check(
        r.text() == "ok" && t0.elapsed() >= Duration::from_millis(300),
        format!("after {:?}", t0.elapsed()),
    )
}

async fn server_errors_then_success() -> CaseResult {
    let server = HostileServer::start(vec![
        Reply::json(500, &json!({})),
        Reply::json(502, &json!({})),
        Reply::json(200, &text_answer("ok")),
    ])
    .await;
    let r = model(&server)
        .chat(&ask())
        .await
        .map_err(|e| e.to_string())?;
    check(r.text() == "ok" && server.requests() == 3, "two retries")?;
    let (err, _server) = chat_err(vec![Reply::json(
        503,
        &json!({"error": {"message": "down"}}),
    )])
    .await?;
    check(
        err.kind() == ErrorKind::Server
            && err.api_error().is_some_and(|a| a.message == "down")
            && err.is_retryable(),
        format!("{err}"),
    )
}

async fn a_reset_mid_stream_is_a_connection_error() -> CaseResult {
    let head = sse_bytes(&[delta(json!({"content": "Hel"}))], false);
    let server =
        HostileServer::start(vec![Reply::raw(200, "text/event-stream", Body::Cut(head))]).await;
    let err = stream_err(&model(&server)).await?;
    check(err.kind() == ErrorKind::Connection, format!("{err}"))?;
    check(
        server.requests() == 1,
        "a stream that delivered events is not retried",
    )
}

async fn an_error_object_in_the_stream_is_typed() -> CaseResult {
    let server = HostileServer::start(vec![Reply::sse(&[
        delta(json!({"content": "a"})),
        json!({"error": {"message": "overloaded", "type": "server_error"}, "status_code": 503}),
    ])])
    .await;
    let err = stream_err(&model(&server)).await?;
    check(
        err.kind() == ErrorKind::Server
            && err.api_error().is_some_and(|a| a.message == "overloaded"),
        format!("{err}"),
    )?;
    let server = HostileServer::start(vec![Reply::sse(&[
        json!({"error": {"message": "slow down", "code": "rate_limit"}, "status_code": 429}),
    ])])
    .await;
    let err = stream_err(&model(&server)).await?;
    check(err.kind() == ErrorKind::RateLimited, format!("{err}"))
}

async fn a_truncated_stream_is_a_connection_error() -> CaseResult {
    let body = sse_bytes(&[delta(json!({"content": "Hel"}))], false);
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Bytes(body),
    )])
    .await;
    let err = stream_err(&model(&server)).await?;
    check(err.kind() == ErrorKind::Connection, format!("{err}"))
}

async fn invalid_utf8_in_a_stream_is_a_protocol_error() -> CaseResult {
    let mut body = b"data: {\"choices\": [{\"delta\": {\"content\": \"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}}]}\n\n");
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Bytes(body),
    )])
    .await;
    let err = stream_err(&model(&server)).await?;
    check(err.kind() == ErrorKind::Protocol, format!("{err}"))
}

async fn garbage_json_is_a_protocol_error() -> CaseResult {
    for body in [
        "{\"choices\": [",
        "<html>502</html>",
        "",
        "null",
        "{\"choices\": []}",
        "{\"choices\": [{\"message\": 7}]}",
    ] {
        let (err, _server) = chat_err(vec![Reply::raw(
            200,
            "application/json",
            Body::Bytes(body.as_bytes().to_vec()),
        )])
        .await?;
        check(
            err.kind() == ErrorKind::Protocol,
            format!("{body:?}: {err}"),
        )?;
    }
    let server = HostileServer::start(vec![Reply::raw(
        200,
        "text/event-stream",
        Body::Bytes(b"data: {nope\n\n".to_vec()),
    )])
    .await;
    let err = stream_err(&model(&server)).await?;
    check(err.kind() == ErrorKind::Protocol, format!("{err}"))
}

async fn empty_error_bodies_are_typed() -> CaseResult {
    for (status, what) in [
        (400, "BadRequest"),
        (401, "Auth"),
        (404, "BadRequest"),
        (500, "Server"),
    ] {
        let server = HostileServer::start(vec![Reply::raw(
            status,
            "text/plain",
            Body::Bytes(Vec::new()),
        )])
        .await;
        let m = OpenAiCompat::new(&server.url)
            .discovery(false)
            .retry(RetryPolicy::none())
            .model("m");
        let err = expect_err(m.chat(&ask()).await)?;
        let ok = format!("{:?}", err.kind()) == what
            && err.api_error().is_some_and(|a| !a.message.is_empty());
        check(ok, format!("{status}: {err:?}"))?;
    }
    Ok(())
}

async fn a_408_is_a_request_timeout() -> CaseResult {
    let server = HostileServer::start(vec![Reply::json(
        408,
        &json!({"message": "too slow to send"}),
    )])
    .await;
    let m = OpenAiCompat::new(&server.url)
        .discovery(false)
        .retry(RetryPolicy::none())
        .model("m");
    let err = expect_err(m.chat(&ask()).await)?;
    check(
        err.is_timeout() && err.status() == Some(408) && err.is_retryable(),
        format!("{err}"),
    )
}

// ---------------------------------------------------------------- the harness

/// Peak resident memory of this process, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn child(name: &str) -> ! {
    let Some(case) = cases().into_iter().find(|c| c.name == name) else {
        println!("FAULT-RESULT no such case");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let t0 = Instant::now();
    let result = rt.block_on(async { tokio::time::timeout(case.max_time * 3, (case.run)()).await });
    let elapsed = t0.elapsed();
    let result = match result {
        Err(_) => Err(format!("still running after {:?}", case.max_time * 3)),
        Ok(r) => r.and_then(|()| {
            check(
                elapsed <= case.max_time,
                format!("took {elapsed:?}, more than {:?}", case.max_time),
            )
        }),
    };
    println!("FAULT-ELAPSED-MS {}", elapsed.as_millis());
    println!("FAULT-PEAK-KIB {}", peak_rss_kib());
    match result {
        Ok(()) => {
            println!("FAULT-RESULT ok");
            std::process::exit(0)
        }
        Err(e) => {
            println!("FAULT-RESULT {}", e.replace('\n', " "));
            std::process::exit(1)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--fault-case") {
        child(args.get(i + 1).map(String::as_str).unwrap_or_default());
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let exe = std::env::current_exe().expect("the test binary's path");
    let (mut passed, mut failed) = (0, 0);
    for case in cases() {
        if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
            continue;
        }
        let mut child = Command::new(&exe)
            .args(["--fault-case", case.name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test binary starts");
        let limit = Instant::now() + case.max_time * 3 + Duration::from_secs(10);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < limit => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    break None;
                }
            }
        };
        let out = child.wait_with_output().expect("the child's output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |k: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::trim)
                .unwrap_or("")
                .to_owned()
        };
        let peak_kib: u64 = field("FAULT-PEAK-KIB").parse().unwrap_or(0);
        let verdict = match status {
            None => Err("killed: it did not end".to_owned()),
            Some(s) if s.success() => check(
                peak_kib > 0 && peak_kib <= case.max_rss_mib * 1024,
                format!(
                    "peak RSS {} MiB over {} MiB",
                    peak_kib / 1024,
                    case.max_rss_mib
                ),
            ),
            Some(s) => Err(format!(
                "{} ({s}){}",
                field("FAULT-RESULT"),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )),
        };
        match verdict {
            Ok(()) => {
                passed += 1;
                println!(
                    "ok     {:<62} {:>6} ms {:>5} MiB",
                    case.name,
                    field("FAULT-ELAPSED-MS"),
                    peak_kib / 1024
                );
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {:<62} {e}", case.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

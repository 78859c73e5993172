//! The harness of the property-based fuzz targets that sit beside the code
//! they test (`fuzz_*` tests in the SSE parser, the stream decoders, the
//! accumulator, the partial JSON parser, tool arguments, headers and recorded
//! bodies): no input may panic, abort or grow without bound.
//!
//! In the test command each target runs a few thousand deterministic cases;
//! `scripts/fuzz [SECONDS]` runs each for longer with random seeds
//! (`TYPECALL_FUZZ_SECONDS` per target) and prints the cases run.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner};

use crate::chat::StreamEvent;
use crate::error::Result;
use crate::provider::streaming::Decode;

/// Runs `test` on values of `strategy`: `cases` deterministic ones, or as many
/// random ones as fit in `TYPECALL_FUZZ_SECONDS`. A failure is shrunk and
/// reported with the smallest input found.
pub(crate) fn fuzz<S>(
    name: &str,
    cases: u64,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
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
pub(crate) fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
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
pub(crate) fn jsonish() -> impl Strategy<Value = String> {
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

/// Decodes a streamed body given in chunks with `decoder`: every event, the
/// last one the end.
pub(crate) fn decode_with(
    mut decoder: impl Decode,
    chunks: &[Vec<u8>],
) -> Vec<Result<StreamEvent>> {
    let mut out = VecDeque::new();
    for c in chunks {
        decoder.push(c, &mut out);
    }
    decoder.finish(&mut out);
    out.into_iter().collect()
}

/// What every decoder must do, whatever it is given: the same events however
/// the body is cut, exactly one end (the whole answer or an error) and last,
/// at most `max_calls` tool calls, each announced ready once under its position.
pub(crate) fn check_decoded(
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

/// Fuzzes a stream decoder: a body of up to `events.end - 1` events from
/// `event`, each written by `frame`, is decoded by `decoder` whole and cut at
/// random points, with `max_tool_calls` from `max_calls`; [`check_decoded`]
/// must hold.
pub(crate) fn fuzz_stream_decoder<E, D>(
    name: &str,
    event: E,
    events: std::ops::Range<usize>,
    max_calls: std::ops::Range<usize>,
    frame: fn(&str) -> String,
    decoder: impl Fn(&crate::provider::Limits) -> D,
) where
    E: Strategy<Value = String>,
    D: Decode,
{
    let input = (
        proptest::collection::vec(event, events),
        proptest::collection::vec(any::<usize>(), 0..8),
        max_calls,
    );
    fuzz(name, 2000, input, |(events, cuts, max_calls)| {
        let body: Vec<u8> = events.iter().flat_map(|e| frame(e).into_bytes()).collect();
        let limits = crate::provider::Limits::default().max_tool_calls(max_calls);
        let whole = decode_with(decoder(&limits), std::slice::from_ref(&body));
        let parts = decode_with(decoder(&limits), &split(&body, &cuts));
        check_decoded(&whole, &parts, max_calls)
    });
}

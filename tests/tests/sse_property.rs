//! The SSE parser gives the same events for any split of a recorded stream, and
//! the whole-stream decoder agrees with the live stream path.

use proptest::prelude::*;
use typecall::testing::decode::{SseEvent, SseParser};
use typecall_tests::{json_files, read_json, recordings_dir};

fn recorded_streams() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = recordings_dir("SSE property") else {
        return Vec::new();
    };
    json_files(&dir.join("cerebras"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("GenStream"))
        })
        .filter_map(|p| {
            let rec = read_json(&p);
            let r = &rec["interactions"][0]["response"];
            (r["status"] == 200).then(|| {
                (
                    p.display().to_string(),
                    r["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
                )
            })
        })
        .collect()
}

fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        p.push(c, &mut out).unwrap();
    }
    p.finish(&mut out).unwrap();
    out
}

fn split_at_points<'a>(body: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in cuts {
        out.push(&body[last..c]);
        last = c;
    }
    out.push(&body[last..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_split_of_a_recorded_stream_gives_the_same_events(
        pick in any::<prop::sample::Index>(),
        points in prop::collection::vec(any::<usize>(), 0..40),
        crlf in any::<bool>(),
    ) {
        let streams = recorded_streams();
        if streams.is_empty() {
            return Ok(());
        }
        let (name, body) = &streams[pick.index(streams.len())];
        let body: Vec<u8> = if crlf { String::from_utf8_lossy(body).replace('\n', "\r\n").into_bytes() } else { body.clone() };
        let whole = parse(&[&body]);
        prop_assert!(whole.len() > 1, "{}", name);
        let pieces = split_at_points(&body, &points);
        prop_assert_eq!(parse(&pieces), whole, "{}", name);
    }
}

#[test]
fn every_recorded_stream_decodes_whole() {
    for (name, body) in recorded_streams() {
        let resp =
            typecall::testing::decode::chat_stream(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(resp.usage.total_tokens > 0, "{name}");
    }
}

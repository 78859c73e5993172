//! Every recorded picture of Pollinations' image models (`pollinations/`,
//! any model whose recorded answer is an image) fetched through
//! `PollinationsImages`: the URL means what the recorded one says (the
//! prompt escaped as recorded, the model, the seed and options), the image
//! comes back as the bytes recorded, its media type read from them.

use std::collections::BTreeMap;

use typecall::chat::{ChatRequest, MediaOutput, MediaSource, Message, StreamEvent};
use typecall::provider::{Model, PollinationsImages, RetryPolicy};
use typecall::testing::Replay;
use typecall_tests::{interactions, json_files, recordings_dir, skip};

/// `%XX` decoded and `+` read as a space, once.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn every_recorded_picture_is_fetched_as_recorded() {
    let Some(dir) = recordings_dir("image replay") else {
        return;
    };
    let root = dir.join("pollinations");
    if !root.is_dir() {
        skip("image replay", "no pollinations/ recordings");
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in json_files(&root) {
        let all = interactions(&path);
        let Some(last) = all.last().cloned() else {
            continue;
        };
        let image = last
            .response
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.iter().any(|t| t.starts_with("image/")));
        if last.request.method != "GET" || !image {
            continue;
        }
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let url = &last.request.url;
        let (path_part, query) = url.split_once('?').unwrap_or((url, ""));
        let segment = path_part.rsplit('/').next().unwrap_or_default();
        let params: BTreeMap<String, String> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), unescape(v)))
            .collect();
        let prompt = unescape(&unescape(segment));
        let replay = Replay::from_interactions(all).unwrap();
        let mut model = PollinationsImages::new()
            .base_url(replay.url().trim_end_matches("/v1"))
            .retry(RetryPolicy::none())
            .model(params.get("model").cloned().unwrap_or_default());
        for (k, v) in &params {
            if k != "model" && k != "seed" {
                model = model.option(k.clone(), v.clone());
            }
        }
        let mut request =
            ChatRequest::new(vec![Message::user(prompt)]).media_output(MediaOutput::image());
        request.seed = params.get("seed").and_then(|s| s.parse().ok());
        let built = model.request_url(&request).unwrap();
        if built.split('?').next().and_then(|p| p.rsplit('/').next()) != Some(segment) {
            failures.push(format!(
                "{label}: path differs:\n  built:    {built}\n  recorded: {url}"
            ));
            continue;
        }
        let mut answers = vec![model.chat(&request).await];
        let mut s = model.stream(&request).await.unwrap();
        let mut streamed = None;
        while let Some(e) = futures_util::StreamExt::next(&mut s).await {
            if let Ok(StreamEvent::Done(r)) = e {
                streamed = Some(Ok(*r));
            }
        }
        answers.push(streamed.unwrap_or_else(|| Err(typecall::Error::connection("no answer"))));
        for answer in answers {
            let answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            let [image] = answer.media.as_slice() else {
                failures.push(format!("{label}: {} media", answer.media.len()));
                continue;
            };
            let recorded = last.response.body.clone();
            let same = matches!(&image.source, MediaSource::Base64(b) if *b == recorded);
            if image.media_type != "image/jpeg" || !same {
                failures.push(format!(
                    "{label}: read as {} (same bytes: {same})",
                    image.media_type
                ));
            }
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 1, "no picture recorded");
}

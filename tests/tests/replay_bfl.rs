//! Black Forest Labs' FLUX jobs (`bfl/`) replayed through `Bfl`: each recorded
//! job submitted as recorded, polled through every recorded look (streamed:
//! one progress event each), its image fetched and read as the image it is;
//! refusals typed; a job that never ends stops at the deadline; the key goes
//! only where it should.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use typecall::ErrorKind;
use typecall::chat::{ChatRequest, MediaOutput, Message, StreamEvent};
use typecall::provider::{Bfl, BflModel, Model, RetryPolicy};
use typecall::testing::{Interaction, Replay};
use typecall_tests::{interactions, json_files, recordings_dir, skip};

const KEY: &str = "bfl-test-key-never-sent-anywhere";

/// A model at `replay` with the recorded body's options besides the prompt
/// and seed (`width`, `height`, `safety_tolerance`).
fn model(replay: &Replay, name: &str, body: &Value) -> BflModel {
    let mut m = Bfl::new(KEY)
        .base_url(format!("{}/v1", replay.url()))
        .retry(RetryPolicy::none())
        .poll_every(Duration::ZERO)
        .deadline(Duration::from_secs(30))
        .model(name);
    for (k, v) in body.as_object().into_iter().flatten() {
        if k != "prompt" && k != "seed" {
            m = m.extra_field(k.clone(), v.clone());
        }
    }
    m
}

fn request(body: &Value) -> ChatRequest {
    let mut r = ChatRequest::new(vec![Message::user(body["prompt"].as_str().unwrap_or(""))])
        .media_output(MediaOutput::image());
    r.seed = body["seed"].as_i64();
    r
}

fn model_name(url: &str) -> String {
    url.rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("%20", " ")
}

/// Checks one recorded job, blocking and streamed.
async fn check_job(all: Vec<Interaction>) -> Result<(), String> {
    let submit = all.first().ok_or("empty")?.clone();
    let body = submit.request.body.clone().ok_or("no body")?;
    let name = model_name(&submit.request.url);
    let looks = all
        .iter()
        .filter(|i| i.request.url.contains("get_result"))
        .count();
    for streamed in [false, true] {
        let replay = Replay::from_interactions(all.clone()).map_err(|e| e.to_string())?;
        let m = model(&replay, &name, &body);
        let built = m.request_body(&request(&body)).map_err(|e| e.to_string())?;
        if built != body {
            return Err(format!(
                "request differs:\n  built:    {built}\n  recorded: {body}"
            ));
        }
        let (answer, progress) = if streamed {
            let mut s = m.stream(&request(&body)).await.map_err(|e| e.to_string())?;
            let mut fractions = Vec::new();
            let mut done = None;
            while let Some(e) = s.next().await {
                match e.map_err(|e| e.to_string())? {
                    StreamEvent::Progress { fraction, .. } => fractions.push(fraction),
                    StreamEvent::Done(r) => done = Some(*r),
                    _ => {}
                }
            }
            (done.ok_or("no answer")?, fractions)
        } else {
            (
                m.chat(&request(&body)).await.map_err(|e| e.to_string())?,
                Vec::new(),
            )
        };
        if streamed && progress.len() != looks {
            return Err(format!(
                "{} progress events for {looks} looks",
                progress.len()
            ));
        }
        let known: Vec<f64> = progress.iter().flatten().copied().collect();
        if known.windows(2).any(|w| w[1] < w[0]) {
            return Err(format!("progress went back: {known:?}"));
        }
        let [image] = answer.media.as_slice() else {
            return Err(format!("{} media", answer.media.len()));
        };
        let bytes = image.bytes().map_err(|e| e.to_string())?;
        if image.media_type != "image/jpeg" || !bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            return Err(format!(
                "read as {} ({} bytes)",
                image.media_type,
                bytes.len()
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_recorded_flux_job_is_polled_to_its_image() {
    let Some(dir) = recordings_dir("bfl replay") else {
        return;
    };
    let root = dir.join("bfl");
    if !root.is_dir() {
        skip("bfl replay", "no bfl/ recordings");
        return;
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in json_files(&root) {
        let rel = path.strip_prefix(&root).unwrap().display().to_string();
        if rel.starts_with("errors/") || rel.ends_with("Capabilities.json") {
            continue;
        }
        let all = interactions(&path);
        if !all.iter().any(|i| i.request.url.contains("get_result")) {
            // A submission alone (`GenAsync`): typecall runs jobs to their end.
            skip(
                &format!("bfl replay {rel}"),
                "a job submitted, never looked at",
            );
            continue;
        }
        match check_job(all).await {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 2, "only {checked} jobs");
}

#[tokio::test]
async fn flux_refusals_are_typed_and_never_show_the_key() {
    let Some(dir) = recordings_dir("bfl errors") else {
        return;
    };
    let root = dir.join("bfl/errors");
    if !root.is_dir() {
        skip("bfl errors", "no bfl/errors recordings");
        return;
    }
    let mut checked = 0;
    for path in json_files(&root) {
        let all = interactions(&path);
        let last = all.last().unwrap().clone();
        let body = last.request.body.clone().unwrap();
        let replay = Replay::from_interactions(all).unwrap();
        let m = model(&replay, &model_name(&last.request.url), &body);
        let e = m.chat(&request(&body)).await.unwrap_err();
        let want = match last.response.status {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::ModelNotFound,
            s => panic!("{}: status {s}", path.display()),
        };
        assert_eq!(e.kind(), want, "{}: {e}", path.display());
        assert!(!format!("{e} {e:?}").contains(KEY));
        checked += 1;
    }
    assert!(checked >= 2);
    let _ = Path::new("");
}

#[tokio::test]
async fn a_job_that_never_ends_stops_at_the_deadline() {
    let interaction =
        |method: &str, url: &str, body: Option<Value>, answer: Value| -> Interaction {
            serde_json::from_value(json!({
                "request": {"method": method, "url": url, "body": body},
                "response": {"status": 200, "headers": {"content-type": ["application/json"]},
                             "body": answer.to_string()}
            }))
            .unwrap()
        };
    let replay = Replay::from_interactions(vec![
        interaction(
            "POST",
            "https://api.bfl.ai/v1/flux-dev",
            Some(json!({"prompt": "a cat"})),
            json!({"id": "j", "polling_url": "https://api.eu4.bfl.ai/v1/get_result?id=j"}),
        ),
        interaction(
            "GET",
            "https://api.eu4.bfl.ai/v1/get_result?id=j",
            None,
            json!({"id": "j", "status": "Pending", "progress": 0.1}),
        ),
    ])
    .unwrap();
    let m = Bfl::new(KEY)
        .base_url(format!("{}/v1", replay.url()))
        .poll_every(Duration::from_millis(20))
        .deadline(Duration::from_millis(300))
        .model("flux-dev");
    let asked = ChatRequest::new(vec![Message::user("a cat")]);
    let t0 = std::time::Instant::now();
    let e = m.chat(&asked).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());

    // Moderated: blocked, typed.
    let replay = Replay::from_interactions(vec![
        interaction(
            "POST",
            "https://api.bfl.ai/v1/flux-dev",
            Some(json!({"prompt": "a cat"})),
            json!({"id": "j"}),
        ),
        interaction(
            "GET",
            "https://api.bfl.ai/v1/get_result?id=j",
            None,
            json!({"id": "j", "status": "Content Moderated", "details": {"reason": "x"}}),
        ),
    ])
    .unwrap();
    let m = Bfl::new(KEY)
        .base_url(format!("{}/v1", replay.url()))
        .model("flux-dev");
    let e = m.chat(&asked).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Blocked, "{e}");
}

//! OpenAI's Batch API for chat completions: the requests written as a JSONL
//! file (`POST /files`, purpose `batch`), a batch made of it (`POST
//! /batches`), looked at (`GET /batches/{id}`) until it ends, and its
//! output file read (`GET /files/{id}/content`) into the neutral
//! [`BatchResult`]s, as Anthropic's Message Batches are.

use std::time::Duration;

use serde_json::{Value, json};

use super::{OpenAiCompat, OpenAiCompatModel};
use crate::chat::{ChatRequest, RateLimits};
use crate::error::{Error, Result};
use crate::provider::check_request;
use crate::provider::storage::{
    Batch, BatchCounts, BatchFailure, BatchResult, BatchStatus, count, id_segment, multipart_file,
    text, wait_for,
};

/// Where an OpenAI batch is, in the neutral words.
fn status_of(status: &str) -> BatchStatus {
    match status {
        "validating" | "in_progress" | "finalizing" => BatchStatus::InProgress,
        "cancelling" => BatchStatus::Canceling,
        "completed" | "failed" | "expired" | "cancelled" => BatchStatus::Ended,
        other => BatchStatus::Other(other.to_owned()),
    }
}

fn batch_of(v: &Value) -> Result<Batch> {
    let id = text(v, "id").ok_or_else(|| Error::protocol("a batch (no `id`)", &v.to_string()))?;
    let counts = v.get("request_counts").cloned().unwrap_or_default();
    let (total, completed, failed) = (
        count(&counts, "total").unwrap_or(0),
        count(&counts, "completed").unwrap_or(0),
        count(&counts, "failed").unwrap_or(0),
    );
    let status = text(v, "status").unwrap_or_default();
    let ended = status_of(&status) == BatchStatus::Ended;
    let left = total.saturating_sub(completed).saturating_sub(failed);
    let time = |k: &str| count(v, k).map(|t| t.to_string());
    Ok(Batch {
        id,
        status: status_of(&status),
        counts: BatchCounts {
            processing: if ended { 0 } else { left },
            succeeded: completed,
            errored: failed,
            canceled: if status == "cancelled" { left } else { 0 },
            expired: if status == "expired" { left } else { 0 },
        },
        created_at: time("created_at"),
        ended_at: time("completed_at")
            .or_else(|| time("failed_at"))
            .or_else(|| time("expired_at"))
            .or_else(|| time("cancelled_at")),
    })
}

/// An id as one URL path segment.
fn segment(id: &str) -> Result<&str> {
    id_segment(id, "OpenAI")
}

impl OpenAiCompat {
    /// A batch by id (`GET /batches/{id}`).
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer that
    /// is not a batch.
    pub async fn batch(&self, id: &str) -> Result<Batch> {
        batch_of(&self.batch_object(id).await?)
    }

    async fn batch_object(&self, id: &str) -> Result<Value> {
        let endpoint = &self.inner.endpoint;
        let url = format!("{}/batches/{}", endpoint.base_url, segment(id)?);
        endpoint.get_json(&url).await
    }

    /// The results of an ended batch, in the order of its output file (the
    /// requests that failed, from its error file, after them).
    ///
    /// # Errors
    /// [`ErrorKind::BadRequest`](crate::ErrorKind::BadRequest) (409) while it has not ended (see
    /// [`OpenAiCompat::wait_for_batch_results`]); a line that is not a
    /// result is [`ErrorKind::Protocol`](crate::ErrorKind::Protocol).
    pub async fn batch_results(&self, id: &str) -> Result<Vec<BatchResult>> {
        let v = self.batch_object(id).await?;
        let status = text(&v, "status").unwrap_or_default();
        if status_of(&status) != BatchStatus::Ended {
            return Err(Error::from_api(crate::error::ApiError {
                status: 409,
                message: format!("batch {id} has not ended (it is {status})"),
                kind: Some("batch_not_ended".into()),
                code: None,
                param: None,
            }));
        }
        let mut out = Vec::new();
        for key in ["output_file_id", "error_file_id"] {
            let Some(file) = text(&v, key) else {
                continue;
            };
            let endpoint = &self.inner.endpoint;
            let url = format!("{}/files/{}/content", endpoint.base_url, segment(&file)?);
            let (_, body) = endpoint.call(reqwest::Method::GET, &url, None, &[]).await?;
            for line in body.lines().filter(|l| !l.trim().is_empty()) {
                out.push(result_of(line)?);
            }
        }
        Ok(out)
    }

    /// Looks at the batch every `every` until it ends, for at most
    /// `deadline`, then reads its results.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when `deadline` passes first; any other error
    /// of the provider at once.
    pub async fn wait_for_batch_results(
        &self,
        id: &str,
        every: Duration,
        deadline: Duration,
    ) -> Result<Vec<BatchResult>> {
        wait_for(every, deadline, 409, || self.batch_results(id)).await
    }
}

/// One line of an output or error file.
fn result_of(line: &str) -> Result<BatchResult> {
    let v: Value =
        serde_json::from_str(line).map_err(|_| Error::protocol("a batch result line", line))?;
    let custom_id = text(&v, "custom_id").unwrap_or_default();
    let status = v.pointer("/response/status_code").and_then(Value::as_u64);
    let outcome = match (status, v.pointer("/response/body")) {
        (Some(200), Some(body)) => Ok(super::decode::parse_response(
            &body.to_string(),
            &RateLimits::default(),
        )?),
        (_, body) => Err(BatchFailure {
            kind: "errored".into(),
            message: v
                .pointer("/error/message")
                .or_else(|| body.and_then(|b| b.pointer("/error/message")))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
    };
    Ok(BatchResult { custom_id, outcome })
}

impl OpenAiCompatModel {
    /// Sends requests as one batch (OpenAI's Batch API: a JSONL file
    /// uploaded, then `POST /batches` over `/v1/chat/completions` with a
    /// 24-hour window), each with its `custom_id`; answered later, for half
    /// the price. Every request is checked as [`Model::chat`](crate::Model::chat)
    /// would.
    ///
    /// # Errors
    /// The first request's problem, or the provider's error.
    pub async fn create_batch(&self, requests: &[(&str, &ChatRequest)]) -> Result<Batch> {
        let caps =
            <super::ChatCompletionsApi as crate::provider::protocol::Protocol>::capabilities(self);
        let mut jsonl = Vec::new();
        for (custom_id, req) in requests {
            check_request(&self.name, &caps, req)?;
            let line = json!({
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": self.request_body(req, false),
            });
            jsonl.extend_from_slice(line.to_string().as_bytes());
            jsonl.push(b'\n');
        }
        let endpoint = &self.client.inner.endpoint;
        let upload = multipart_file(
            &[("purpose", "batch")],
            "batch.jsonl",
            "application/jsonl",
            &jsonl,
        );
        let file = endpoint
            .call_json(
                reqwest::Method::POST,
                &format!("{}/files", endpoint.base_url),
                Some(&upload),
                &[],
                "an uploaded file",
            )
            .await?;
        let file_id = text(&file, "id")
            .ok_or_else(|| Error::protocol("an uploaded file (no `id`)", &file.to_string()))?;
        let http = endpoint.http()?;
        let body = http.body(&json!({
            "input_file_id": file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }))?;
        let v = endpoint
            .call_json(
                reqwest::Method::POST,
                &format!("{}/batches", endpoint.base_url),
                Some(&body),
                &[],
                "a batch",
            )
            .await?;
        batch_of(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_result_lines_read_in_neutral_words() {
        let b = batch_of(
            &json!({"id": "batch_1", "status": "in_progress", "created_at": 5,
            "request_counts": {"total": 3, "completed": 1, "failed": 1}}),
        )
        .unwrap();
        assert_eq!(
            (b.status, b.counts.processing, b.counts.succeeded),
            (BatchStatus::InProgress, 1, 1)
        );
        let b = batch_of(&json!({"id": "b", "status": "expired", "expired_at": 9,
            "request_counts": {"total": 3, "completed": 1, "failed": 0}}))
        .unwrap();
        assert_eq!(
            (b.status, b.counts.expired, b.ended_at.as_deref()),
            (BatchStatus::Ended, 2, Some("9"))
        );
        assert!(batch_of(&json!({"status": "completed"})).is_err());
        let ok = result_of(r#"{"custom_id": "a", "response": {"status_code": 200, "body": {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}}}"#).unwrap();
        assert_eq!(ok.outcome.unwrap().text(), "hi");
        let failed = result_of(r#"{"custom_id": "b", "response": {"status_code": 400, "body": {"error": {"message": "bad"}}}, "error": null}"#).unwrap();
        assert_eq!(failed.outcome.unwrap_err().message.as_deref(), Some("bad"));
        assert!(result_of("not json").is_err());
        assert!(segment("../x").is_err());
    }
}

//! Anthropic's Message Batches, Files and token counting.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Anthropic, AnthropicModel};
use crate::chat::ChatRequest;
use crate::error::{Error, Result};
use crate::provider::check_request;
use crate::provider::storage::{
    Batch, BatchCounts, BatchFailure, BatchResult, BatchStatus, StoredFile, count, id_segment,
    multipart_file, records, text, wait_for,
};

/// The beta the Files API needs.
const FILES_BETA: (&str, &str) = ("anthropic-beta", "files-api-2025-04-14");

fn batch_of(v: &Value) -> Result<Batch> {
    let id = text(v, "id")
        .ok_or_else(|| Error::protocol("a message batch (no `id`)", &v.to_string()))?;
    let counts = v.get("request_counts").cloned().unwrap_or_default();
    Ok(Batch {
        id,
        status: match v.get("processing_status").and_then(Value::as_str) {
            Some("in_progress") => BatchStatus::InProgress,
            Some("canceling") => BatchStatus::Canceling,
            Some("ended") => BatchStatus::Ended,
            other => BatchStatus::Other(other.unwrap_or_default().to_owned()),
        },
        counts: BatchCounts {
            processing: count(&counts, "processing").unwrap_or(0),
            succeeded: count(&counts, "succeeded").unwrap_or(0),
            errored: count(&counts, "errored").unwrap_or(0),
            canceled: count(&counts, "canceled").unwrap_or(0),
            expired: count(&counts, "expired").unwrap_or(0),
        },
        created_at: text(v, "created_at"),
        ended_at: text(v, "ended_at"),
    })
}

fn file_of(v: &Value) -> Result<StoredFile> {
    let id = text(v, "id").ok_or_else(|| Error::protocol("a file (no `id`)", &v.to_string()))?;
    Ok(StoredFile {
        id,
        name: text(v, "filename"),
        mime_type: text(v, "mime_type"),
        size_bytes: count(v, "size_bytes"),
        uri: None,
        created_at: text(v, "created_at"),
        expires_at: None,
    })
}

/// An id as one URL path segment.
fn segment(id: &str) -> Result<&str> {
    id_segment(id, "Anthropic")
}

impl Anthropic {
    fn files_headers() -> Vec<(String, String)> {
        vec![(FILES_BETA.0.into(), FILES_BETA.1.into())]
    }

    /// A message batch by id (`GET /messages/batches/{id}`).
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer that is
    /// not a batch.
    pub async fn batch(&self, id: &str) -> Result<Batch> {
        let url = format!(
            "{}/messages/batches/{}",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        let v = self.inner.endpoint.get_json(&url).await?;
        batch_of(&v)
    }

    /// The message batches of the account, newest first.
    ///
    /// # Errors
    /// As [`Anthropic::batch`].
    pub async fn list_batches(&self) -> Result<Vec<Batch>> {
        let url = format!(
            "{}/messages/batches?limit=1000",
            self.inner.endpoint.base_url
        );
        let v = self.inner.endpoint.get_json(&url).await?;
        records(&v, "data", batch_of)
    }

    /// Asks the provider to stop a batch; its answered requests keep their
    /// results.
    ///
    /// # Errors
    /// As [`Anthropic::batch`].
    pub async fn cancel_batch(&self, id: &str) -> Result<Batch> {
        let url = format!(
            "{}/messages/batches/{}/cancel",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        let v = self
            .inner
            .endpoint
            .call_json(reqwest::Method::POST, &url, None, &[], "a JSON answer")
            .await?;
        batch_of(&v)
    }

    /// Deletes an ended batch and its results.
    ///
    /// # Errors
    /// The provider's error (a batch still in progress cannot be deleted).
    pub async fn delete_batch(&self, id: &str) -> Result<()> {
        let url = format!(
            "{}/messages/batches/{}",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        self.inner.endpoint.delete(&url).await
    }

    /// The results of an ended batch (`GET …/results`, one JSON line per
    /// request), each read like a blocking answer.
    ///
    /// # Errors
    /// The provider's error: a 404 [`ErrorKind::BadRequest`](crate::ErrorKind::BadRequest) while the batch has
    /// no results yet (see [`Anthropic::wait_for_batch_results`]); a line
    /// that is not a result is [`ErrorKind::Protocol`](crate::ErrorKind::Protocol).
    pub async fn batch_results(&self, id: &str) -> Result<Vec<BatchResult>> {
        let url = format!(
            "{}/messages/batches/{}/results",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        let (_, body) = self
            .inner
            .endpoint
            .call(reqwest::Method::GET, &url, None, &[])
            .await?;
        let limits = self.inner.endpoint.http()?.limits.clone();
        let mut out = Vec::new();
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line)
                .map_err(|_| Error::protocol("a batch result line", line))?;
            let result = v.get("result").cloned().unwrap_or_default();
            let kind = text(&result, "type").unwrap_or_default();
            let outcome = match (kind.as_str(), result.get("message")) {
                ("succeeded", Some(m)) => {
                    Ok(super::read::parse_message_within(&m.to_string(), &limits)?)
                }
                _ => Err(BatchFailure {
                    message: result
                        .pointer("/error/error/message")
                        .or_else(|| result.pointer("/error/message"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    kind,
                }),
            };
            out.push(BatchResult {
                custom_id: text(&v, "custom_id").unwrap_or_default(),
                outcome,
            });
        }
        Ok(out)
    }

    /// Polls [`Anthropic::batch_results`] every `every` until the results
    /// are there, for at most `deadline`.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when `deadline` passes first; any other error of
    /// the provider at once.
    pub async fn wait_for_batch_results(
        &self,
        id: &str,
        every: Duration,
        deadline: Duration,
    ) -> Result<Vec<BatchResult>> {
        wait_for(every, deadline, 404, || self.batch_results(id)).await
    }

    /// Uploads a file (`POST /files`, the Files API beta): documents and
    /// images later requests can name by id.
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer that is
    /// not a file.
    pub async fn upload_file(
        &self,
        name: &str,
        mime_type: &str,
        bytes: &[u8],
    ) -> Result<StoredFile> {
        let body = multipart_file(&[], name, mime_type, bytes);
        let url = format!("{}/files?beta=true", self.inner.endpoint.base_url);
        let v = self
            .inner
            .endpoint
            .call_json(
                reqwest::Method::POST,
                &url,
                Some(&body),
                &Self::files_headers(),
                "a JSON answer",
            )
            .await?;
        file_of(&v)
    }

    /// An uploaded file by id.
    ///
    /// # Errors
    /// As [`Anthropic::upload_file`].
    pub async fn file(&self, id: &str) -> Result<StoredFile> {
        let url = format!(
            "{}/files/{}?beta=true",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        let v = self
            .inner
            .endpoint
            .call_json(
                reqwest::Method::GET,
                &url,
                None,
                &Self::files_headers(),
                "a JSON answer",
            )
            .await?;
        file_of(&v)
    }

    /// The uploaded files.
    ///
    /// # Errors
    /// As [`Anthropic::upload_file`].
    pub async fn list_files(&self) -> Result<Vec<StoredFile>> {
        let url = format!(
            "{}/files?beta=true&limit=1000",
            self.inner.endpoint.base_url
        );
        let v = self
            .inner
            .endpoint
            .call_json(
                reqwest::Method::GET,
                &url,
                None,
                &Self::files_headers(),
                "a JSON answer",
            )
            .await?;
        records(&v, "data", file_of)
    }

    /// Deletes an uploaded file.
    ///
    /// # Errors
    /// The provider's error.
    pub async fn delete_file(&self, id: &str) -> Result<()> {
        let url = format!(
            "{}/files/{}?beta=true",
            self.inner.endpoint.base_url,
            segment(id)?
        );
        self.inner
            .endpoint
            .call_json(
                reqwest::Method::DELETE,
                &url,
                None,
                &Self::files_headers(),
                "a JSON answer",
            )
            .await
            .map(drop)
    }
}

impl AnthropicModel {
    /// Sends requests as one message batch (`POST /messages/batches`), each
    /// with its `custom_id`; answered later, for half the price. Every
    /// request is checked as [`Model::chat`](crate::Model::chat) would.
    ///
    /// # Errors
    /// The first request's problem ([`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), …), or the
    /// provider's error.
    pub async fn create_batch(&self, requests: &[(&str, &ChatRequest)]) -> Result<Batch> {
        let mut items = Vec::with_capacity(requests.len());
        for (custom_id, req) in requests {
            check_request(&self.name, &self.capabilities, req)?;
            items.push(json!({
                "custom_id": custom_id,
                "params": self.request_body(req, false),
            }));
        }
        let http = self.client.inner.endpoint.http()?;
        let body = http.body(&json!({ "requests": items }))?;
        let url = format!("{}/messages/batches", self.client.inner.endpoint.base_url);
        let v = self
            .client
            .inner
            .endpoint
            .call_json(
                reqwest::Method::POST,
                &url,
                Some(&body),
                &[],
                "a JSON answer",
            )
            .await?;
        batch_of(&v)
    }

    /// How many input tokens `request` would cost
    /// (`POST /messages/count_tokens`).
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer without a
    /// count.
    pub async fn count_tokens(&self, request: &ChatRequest) -> Result<u64> {
        check_request(&self.name, &self.capabilities, request)?;
        let mut params = self.request_body(request, false);
        if let Some(o) = params.as_object_mut() {
            o.remove("max_tokens");
        }
        let http = self.client.inner.endpoint.http()?;
        let body = http.body(&params)?;
        let url = format!(
            "{}/messages/count_tokens",
            self.client.inner.endpoint.base_url
        );
        let v = self
            .client
            .inner
            .endpoint
            .call_json(
                reqwest::Method::POST,
                &url,
                Some(&body),
                &[],
                "a JSON answer",
            )
            .await?;
        count(&v, "input_tokens").ok_or_else(|| Error::protocol("a token count", &v.to_string()))
    }
}

//! What a provider keeps for you: uploaded files, cached prompt prefixes and
//! batches of requests answered later. Provider-neutral records; the provider
//! clients ([`Anthropic`](super::Anthropic), [`Gemini`](super::Gemini)) make
//! and read them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::ChatResponse;
use crate::provider::http::Body;

/// A file uploaded to a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredFile {
    /// The provider's id (`file_…`, `files/…`): what requests name it by.
    pub id: String,
    /// Its file name, as uploaded.
    pub name: Option<String>,
    /// Its media type.
    pub mime_type: Option<String>,
    /// Its size.
    pub size_bytes: Option<u64>,
    /// Where models read it (Gemini's `uri`, for a [`MediaSource::Url`](crate::chat::MediaSource::Url)).
    pub uri: Option<String>,
    /// When it was made (RFC 3339), if said.
    pub created_at: Option<String>,
    /// When the provider deletes it (RFC 3339), if it does.
    pub expires_at: Option<String>,
}

/// A prompt prefix the provider keeps, so later requests pay less for it
/// (Gemini's cached contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CachedPrompt {
    /// The provider's id (`cachedContents/…`).
    pub id: String,
    /// The model it was made for.
    pub model: String,
    /// Its display name.
    pub name: Option<String>,
    /// When the provider drops it (RFC 3339).
    pub expires_at: Option<String>,
    /// Its size in tokens.
    pub tokens: Option<u64>,
}

/// A batch of requests the provider answers later, at a lower price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Batch {
    /// The provider's id.
    pub id: String,
    /// Where it is.
    pub status: BatchStatus,
    /// How many requests are where.
    pub counts: BatchCounts,
    /// When it was made (RFC 3339).
    pub created_at: Option<String>,
    /// When it ended (RFC 3339), if it has.
    pub ended_at: Option<String>,
}

/// Where a batch is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchStatus {
    /// Its requests are being answered.
    InProgress,
    /// It is being cancelled.
    Canceling,
    /// Every request has a result.
    Ended,
    /// As the provider named it.
    Other(String),
}

/// How many requests of a batch are where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchCounts {
    /// Not answered yet.
    pub processing: u64,
    /// Answered.
    pub succeeded: u64,
    /// Failed.
    pub errored: u64,
    /// Cancelled.
    pub canceled: u64,
    /// Not answered in time.
    pub expired: u64,
}

/// The result of one request of a batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchResult {
    /// The id the request was given.
    pub custom_id: String,
    /// Its answer, or why there is none.
    pub outcome: Result<ChatResponse, BatchFailure>,
}

/// Why a request of a batch has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchFailure {
    /// `errored`, `canceled` or `expired`.
    pub kind: String,
    /// The provider's message, if any.
    pub message: Option<String>,
}

/// The records of a list answer: each element of the array `key` (none when
/// absent), read by `record`; the first that is not a record fails the list.
pub(crate) fn records<T>(
    v: &Value,
    key: &str,
    record: impl Fn(&Value) -> crate::Result<T>,
) -> crate::Result<Vec<T>> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(record)
        .collect()
}

/// A string field of a JSON object.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A count that may come as a number or a numeric string (Gemini's
/// `sizeBytes`), read fallibly.
pub(crate) fn count(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A file upload as `multipart/form-data`: the text `fields` first, then
/// the file's part (`name="file"`), with a random boundary.
pub(crate) fn multipart_file(
    fields: &[(&str, &str)],
    file_name: &str,
    mime_type: &str,
    bytes: &[u8],
) -> Body {
    let boundary = format!("typecall{:016x}", crate::provider::http::random_u64());
    let clean = |s: &str| s.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(bytes.len() + 256);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                clean(name)
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            clean(file_name),
            clean(mime_type)
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Body::raw(body, format!("multipart/form-data; boundary={boundary}"))
}

/// An id as one URL path segment of `provider`'s API: refused when it
/// could leave it (anything but letters, digits, `_` and `-`).
pub(crate) fn id_segment<'a>(id: &'a str, provider: &str) -> crate::Result<&'a str> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(crate::Error::config(format!(
            "`{id}` is not an {provider} id (letters, digits, `_` and `-`)"
        )));
    }
    Ok(id)
}

/// Asks `look` every `every` until it answers with anything but the HTTP
/// status `not_yet` (a batch's results not there yet), for at most
/// `deadline` (30 days at most).
///
/// # Errors
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when `deadline` passes
/// first; any other error of `look` at once.
pub(crate) async fn wait_for<T, F, Fut>(
    every: std::time::Duration,
    deadline: std::time::Duration,
    not_yet: u16,
    mut look: F,
) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let cap = std::time::Duration::from_secs(86_400 * 30);
    let until = tokio::time::Instant::now() + deadline.min(cap);
    loop {
        match look().await {
            Err(e) if e.kind() == crate::ErrorKind::BadRequest && e.status() == Some(not_yet) => {}
            other => return other,
        }
        if tokio::time::Instant::now() + every > until {
            return Err(crate::Error::timeout(deadline));
        }
        tokio::time::sleep(every).await;
    }
}

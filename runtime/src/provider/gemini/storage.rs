//! Gemini's Files API (resumable upload) and context caching.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Gemini, GeminiModel, write};
use crate::chat::ChatRequest;
use crate::error::{Error, Result};
use crate::provider::http::Body;
use crate::provider::storage::{CachedPrompt, StoredFile, count, records, text};

fn file_of(v: &Value) -> Result<StoredFile> {
    let id =
        text(v, "name").ok_or_else(|| Error::protocol("a file (no `name`)", &v.to_string()))?;
    Ok(StoredFile {
        id,
        name: text(v, "displayName"),
        mime_type: text(v, "mimeType"),
        size_bytes: count(v, "sizeBytes"),
        uri: text(v, "uri"),
        created_at: text(v, "createTime"),
        expires_at: text(v, "expirationTime"),
    })
}

fn cache_of(v: &Value) -> Result<CachedPrompt> {
    let id = text(v, "name")
        .ok_or_else(|| Error::protocol("cached contents (no `name`)", &v.to_string()))?;
    Ok(CachedPrompt {
        id,
        model: text(v, "model")
            .map(|m| m.trim_start_matches("models/").to_owned())
            .unwrap_or_default(),
        name: text(v, "displayName"),
        expires_at: text(v, "expireTime"),
        tokens: v
            .get("usageMetadata")
            .and_then(|u| count(u, "totalTokenCount")),
    })
}

/// `files/abc` or `abc` as the id segment `abc`, refused when it could leave
/// its path segment.
fn id_segment<'a>(id: &'a str, collection: &str) -> Result<&'a str> {
    let bare = id
        .strip_prefix(collection)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(id);
    if bare.is_empty()
        || !bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::config(format!(
            "`{id}` is not a Gemini {collection} name"
        )));
    }
    Ok(bare)
}

/// `{"ttl": "600s"}`'s form of a duration.
fn ttl(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

impl Gemini {
    /// The scheme, host and port of the base URL, and its path.
    fn origin_and_path(&self) -> (String, String) {
        let base = &self.inner.endpoint.base_url;
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        match base.get(after_scheme..).and_then(|r| r.find('/')) {
            Some(i) => (
                base.get(..after_scheme + i).unwrap_or(base).to_owned(),
                base.get(after_scheme + i..).unwrap_or_default().to_owned(),
            ),
            None => (base.clone(), String::new()),
        }
    }

    /// Uploads a file (the resumable upload of the Files API: a start, then
    /// the bytes): image, PDF, audio or video that later requests name by
    /// [`StoredFile::uri`] (as a [`ContentPart::media_url`](crate::chat::ContentPart::media_url)).
    ///
    /// # Errors
    /// The provider's error, or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer without
    /// an upload URL or a file.
    pub async fn upload_file(
        &self,
        name: &str,
        mime_type: &str,
        bytes: &[u8],
    ) -> Result<StoredFile> {
        let (origin, path) = self.origin_and_path();
        let start_url = format!("{origin}/upload{path}/files");
        let http = self.inner.endpoint.http()?;
        let start = http.body(&json!({"file": {"displayName": name}}))?;
        let headers = vec![
            ("x-goog-upload-protocol".to_owned(), "resumable".to_owned()),
            ("x-goog-upload-command".to_owned(), "start".to_owned()),
            (
                "x-goog-upload-header-content-length".to_owned(),
                bytes.len().to_string(),
            ),
            (
                "x-goog-upload-header-content-type".to_owned(),
                mime_type.to_owned(),
            ),
        ];
        let (seen, _) = self
            .inner
            .endpoint
            .call(reqwest::Method::POST, &start_url, Some(&start), &headers)
            .await?;
        let upload = seen
            .iter()
            .find(|(k, _)| k == "x-goog-upload-url")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Error::protocol("an upload start (no x-goog-upload-url header)", ""))?;
        // The upload goes to this client's host (a proxy or a replay server
        // stands in for Google's): the path and query of the given URL.
        let tail = upload
            .find("://")
            .and_then(|i| upload.get(i + 3..))
            .and_then(|r| r.find('/').and_then(|j| r.get(j..)))
            .unwrap_or(&upload);
        let upload_url = format!("{origin}{tail}");
        let body = Body::raw(bytes.to_vec(), mime_type);
        let headers = vec![
            (
                "x-goog-upload-command".to_owned(),
                "upload, finalize".to_owned(),
            ),
            ("x-goog-upload-offset".to_owned(), "0".to_owned()),
        ];
        let v = self
            .inner
            .endpoint
            .call_json(
                reqwest::Method::PUT,
                &upload_url,
                Some(&body),
                &headers,
                "a JSON answer",
            )
            .await?;
        file_of(v.get("file").unwrap_or(&v))
    }

    /// An uploaded file by name (`files/…`).
    ///
    /// # Errors
    /// As [`Gemini::upload_file`].
    pub async fn file(&self, name: &str) -> Result<StoredFile> {
        let url = format!(
            "{}/files/{}",
            self.inner.endpoint.base_url,
            id_segment(name, "files")?
        );
        let v = self.inner.endpoint.get_json(&url).await?;
        file_of(&v)
    }

    /// The uploaded files (the first 100).
    ///
    /// # Errors
    /// As [`Gemini::upload_file`].
    pub async fn list_files(&self) -> Result<Vec<StoredFile>> {
        let url = format!("{}/files?pageSize=100", self.inner.endpoint.base_url);
        let v = self.inner.endpoint.get_json(&url).await?;
        records(&v, "files", file_of)
    }

    /// Deletes an uploaded file.
    ///
    /// # Errors
    /// The provider's error.
    pub async fn delete_file(&self, name: &str) -> Result<()> {
        let url = format!(
            "{}/files/{}",
            self.inner.endpoint.base_url,
            id_segment(name, "files")?
        );
        self.inner.endpoint.delete(&url).await
    }

    /// Cached contents by name (`cachedContents/…`).
    ///
    /// # Errors
    /// The provider's error (a deleted one is a 403 [`ErrorKind::Auth`](crate::ErrorKind::Auth), as
    /// Gemini answers), or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol).
    pub async fn cached_prompt(&self, name: &str) -> Result<CachedPrompt> {
        let url = format!(
            "{}/cachedContents/{}",
            self.inner.endpoint.base_url,
            id_segment(name, "cachedContents")?
        );
        let v = self.inner.endpoint.get_json(&url).await?;
        cache_of(&v)
    }

    /// The cached contents of the account (the first 100).
    ///
    /// # Errors
    /// As [`Gemini::cached_prompt`].
    pub async fn list_cached_prompts(&self) -> Result<Vec<CachedPrompt>> {
        let url = format!(
            "{}/cachedContents?pageSize=100",
            self.inner.endpoint.base_url
        );
        let v = self.inner.endpoint.get_json(&url).await?;
        records(&v, "cachedContents", cache_of)
    }

    /// Deletes cached contents.
    ///
    /// # Errors
    /// The provider's error.
    pub async fn delete_cached_prompt(&self, name: &str) -> Result<()> {
        let url = format!(
            "{}/cachedContents/{}",
            self.inner.endpoint.base_url,
            id_segment(name, "cachedContents")?
        );
        self.inner.endpoint.delete(&url).await
    }
}

impl GeminiModel {
    /// Keeps `prefix` (its system instruction and conversation) on Gemini's
    /// side for `ttl`, named `display_name`; requests then name it with
    /// [`GeminiModel::cached_prompt`] and pay less for those tokens.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`](crate::ErrorKind::Schema)-free: the provider's error (a prefix under the
    /// model's minimum size is refused), or [`ErrorKind::Protocol`](crate::ErrorKind::Protocol).
    pub async fn create_cached_prompt(
        &self,
        prefix: &ChatRequest,
        ttl_for: Duration,
        display_name: &str,
    ) -> Result<CachedPrompt> {
        let body = write::cache_body(prefix, &self.name, ttl(ttl_for), display_name);
        let endpoint = &self.client.inner.endpoint;
        let body = endpoint.http()?.body(&body)?;
        let url = format!("{}/cachedContents", endpoint.base_url);
        let v = endpoint
            .call_json(
                reqwest::Method::POST,
                &url,
                Some(&body),
                &[],
                "a JSON answer",
            )
            .await?;
        cache_of(&v)
    }

    /// Gives cached contents of this model a new time to live.
    ///
    /// # Errors
    /// As [`Gemini::cached_prompt`].
    pub async fn extend_cached_prompt(
        &self,
        name: &str,
        ttl_for: Duration,
    ) -> Result<CachedPrompt> {
        let endpoint = &self.client.inner.endpoint;
        let body = endpoint.http()?.body(&json!({
            "ttl": ttl(ttl_for),
            "model": format!("models/{}", self.name),
        }))?;
        let url = format!(
            "{}/cachedContents/{}",
            endpoint.base_url,
            id_segment(name, "cachedContents")?
        );
        let v = endpoint
            .call_json(
                reqwest::Method::PATCH,
                &url,
                Some(&body),
                &[],
                "a JSON answer",
            )
            .await?;
        cache_of(&v)
    }
}

//! How much a server may send and for how long, and reading a body within
//! that.

use std::time::Duration;

use crate::error::Error;

/// How much a server may send before typecall stops reading, and how long a
/// stream may last. Every limit ends in [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) (or
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)) naming the setting to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most bytes of one response body, blocking or streamed (default
    /// 64 MiB). Read incrementally: memory stays near this limit.
    pub max_body_bytes: usize,
    /// The most bytes of one server-sent-event line or event (default 16 MiB).
    pub max_event_bytes: usize,
    /// The most tool calls in one answer (default 128).
    pub max_tool_calls: usize,
    /// The most content parts (blocks) of one answer, after adjacent text is
    /// merged (default 4096): text, thoughts, calls, media.
    pub max_parts: usize,
    /// The longest a streamed answer may last from its first byte to its end
    /// (default 30 minutes), whatever keep-alives the server sends; the
    /// provider's timeout bounds each silence between chunks.
    pub stream_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 << 20,
            max_event_bytes: 16 << 20,
            max_tool_calls: 128,
            max_parts: 4096,
            stream_deadline: Duration::from_secs(30 * 60),
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_body_bytes`].
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
    /// Sets [`Limits::max_event_bytes`].
    pub fn max_event_bytes(mut self, n: usize) -> Self {
        self.max_event_bytes = n;
        self
    }
    /// Sets [`Limits::max_tool_calls`].
    pub fn max_tool_calls(mut self, n: usize) -> Self {
        self.max_tool_calls = n;
        self
    }
    /// Sets [`Limits::max_parts`].
    pub fn max_parts(mut self, n: usize) -> Self {
        self.max_parts = n;
        self
    }
    /// Sets [`Limits::stream_deadline`].
    pub fn stream_deadline(mut self, d: Duration) -> Self {
        self.stream_deadline = d;
        self
    }
}

/// The error for a response that went past a limit.
/// An answer with more tool calls than `max` (`Limits::max_tool_calls`).
pub(crate) fn too_many_tool_calls(max: usize) -> Error {
    too_large("the tool calls of one answer", max, "max_tool_calls")
}

pub(crate) fn too_large(what: &str, limit: usize, setting: &'static str) -> Error {
    Error::limit_exceeded(what, u64::try_from(limit).unwrap_or(u64::MAX), setting)
}

/// Reads a body until it ends or passes `limit` bytes: the bytes, and whether
/// the body was complete. A `content-length` above the limit is refused before
/// reading anything.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
) -> reqwest::Result<(Vec<u8>, bool)> {
    let announced = resp.content_length().unwrap_or(0);
    if usize::try_from(announced).map_or(true, |n| n > limit) {
        return Ok((Vec::new(), false));
    }
    let mut out = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await? {
        if out.len().saturating_add(chunk.len()) > limit {
            return Ok((out, false));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, true))
}

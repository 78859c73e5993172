//! Messages of a conversation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// Instructions for the model.
    System {
        /// The instructions.
        content: String,
    },
    /// What the user says: text, and images for models that take them.
    User {
        /// The parts, in order.
        content: Vec<ContentPart>,
    },
    /// What the model said: text, tool calls, and its reasoning where the
    /// provider wants it sent back.
    Assistant {
        /// The answer text, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        /// The tools it asked to call.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// Its reasoning, kept apart from the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
        /// What the provider that gave this answer needs back, unchanged, on
        /// later turns (thinking signatures, encrypted reasoning); other
        /// providers ignore it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_state: Option<ProviderState>,
    },
    /// The result of one tool call.
    Tool {
        /// The id of the call this answers.
        tool_call_id: String,
        /// The tool's name.
        name: String,
        /// The result, as text (JSON for structured results).
        content: String,
        /// Whether the call failed (`content` then says why). Providers that
        /// mark failures (Anthropic's `is_error`) are told.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::System {
            content: content.into(),
        }
    }
    /// A user message of plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Message::User {
            content: vec![ContentPart::Text(text.into())],
        }
    }
    /// A user message of several parts (text and images).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Message::User { content: parts }
    }
    /// An assistant message of plain text.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::Assistant {
            content: Some(text.into()),
            tool_calls: Vec::new(),
            reasoning: None,
            provider_state: None,
        }
    }
    /// An assistant message that calls tools.
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        Message::Assistant {
            content: None,
            tool_calls,
            reasoning: None,
            provider_state: None,
        }
    }
    /// The result of a tool call.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: false,
        }
    }
    /// The failure of a tool call: `content` says what went wrong, for the
    /// model to read.
    pub fn tool_error(call: &ToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: true,
        }
    }
    /// The text of the message (the text parts of a user message, joined).
    pub fn text(&self) -> String {
        match self {
            Message::System { content } | Message::Tool { content, .. } => content.clone(),
            Message::User { content } => content
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Message::Assistant { content, .. } => content.clone().unwrap_or_default(),
        }
    }
}

/// A part of a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text.
    Text(String),
    /// An image, by URL or inline as a `data:` URL.
    Image {
        /// `https://…` or `data:image/png;base64,…`.
        url: String,
    },
    /// A file of any media type (image, PDF, audio, video), inline or by URL.
    Media(Media),
    /// A text document the model may cite (see [`Citation`](super::Citation)).
    Document(Document),
}

/// A file sent to the model: its media type and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The IANA media type: `image/png`, `application/pdf`, `audio/mpeg`, `video/mp4`…
    pub media_type: String,
    /// The bytes, or where to fetch them.
    pub source: MediaSource,
}

impl Media {
    /// What kind of file this is, from its media type.
    pub fn kind(&self) -> MediaKind {
        MediaKind::of(&self.media_type)
    }
}

/// Where a [`Media`] part's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// In the request, base64-encoded (standard alphabet, padded).
    Base64(String),
    /// At this URL, fetched by the provider.
    Url(String),
}

/// The broad kind of a media type, which decides how providers send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MediaKind {
    /// `image/*`.
    Image,
    /// `application/pdf`.
    Pdf,
    /// `audio/*`.
    Audio,
    /// `video/*`.
    Video,
    /// Anything else.
    Other,
}

impl MediaKind {
    /// The kind of `media_type` (case-insensitive; parameters ignored).
    pub fn of(media_type: &str) -> Self {
        let t = media_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match t.split('/').next().unwrap_or_default() {
            "image" => MediaKind::Image,
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ if t == "application/pdf" => MediaKind::Pdf,
            _ => MediaKind::Other,
        }
    }
}

/// A text document given to the model, which it can answer from with
/// citations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The text.
    pub text: String,
    /// Its media type (`text/plain`, `text/markdown`).
    pub media_type: String,
    /// A title, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Whether to ask for citations into it (providers that cannot cite
    /// refuse the request).
    pub citations: bool,
}

/// State a provider returned with an answer that must go back to the same
/// provider, unchanged, on later turns (Anthropic's thinking blocks and their
/// signatures, Gemini's thought signatures, OpenAI's encrypted reasoning).
/// Opaque: only the provider that wrote it reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderState {
    /// The provider that wrote it (`"anthropic"`, `"gemini"`, `"openai_responses"`).
    pub provider: String,
    /// What it needs back, in its own format.
    pub data: Value,
}

impl ContentPart {
    /// A text part.
    pub fn text(t: impl Into<String>) -> Self {
        ContentPart::Text(t.into())
    }
    /// An image at a URL.
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentPart::Image { url: url.into() }
    }
    /// An inline image: `bytes` of type `mime` (e.g. `image/png`), sent as a
    /// base64 `data:` URL.
    pub fn image_bytes(mime: &str, bytes: &[u8]) -> Self {
        ContentPart::Image {
            url: format!("data:{mime};base64,{}", base64(bytes)),
        }
    }
    /// A file of this media type at a URL (a PDF, audio, video or image).
    pub fn media_url(media_type: impl Into<String>, url: impl Into<String>) -> Self {
        ContentPart::Media(Media {
            media_type: media_type.into(),
            source: MediaSource::Url(url.into()),
        })
    }
    /// A file of this media type, sent inline.
    pub fn media_bytes(media_type: impl Into<String>, bytes: &[u8]) -> Self {
        ContentPart::Media(Media {
            media_type: media_type.into(),
            source: MediaSource::Base64(base64(bytes)),
        })
    }
    /// A plain-text document the model may cite.
    pub fn document(text: impl Into<String>) -> Self {
        ContentPart::Document(Document {
            text: text.into(),
            media_type: "text/plain".into(),
            title: None,
            citations: true,
        })
    }
    /// The media this part carries, with images given as `data:` URLs read
    /// into their media type and base64 text (`None` for text and documents).
    pub fn as_media(&self) -> Option<Media> {
        match self {
            ContentPart::Media(m) => Some(m.clone()),
            ContentPart::Image { url } => Some(match url.strip_prefix("data:") {
                Some(rest) => {
                    let (head, data) = rest.split_once(',').unwrap_or((rest, ""));
                    let media_type = head.strip_suffix(";base64").unwrap_or(head);
                    Media {
                        media_type: media_type.to_owned(),
                        source: MediaSource::Base64(data.to_owned()),
                    }
                }
                None => Media {
                    media_type: "image/*".into(),
                    source: MediaSource::Url(url.clone()),
                },
            }),
            _ => None,
        }
    }
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the tool result must carry it back.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments exactly as the model wrote them (normally a JSON object).
    pub arguments: String,
}

impl ToolCall {
    /// A tool call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }
    /// The arguments parsed as JSON (an empty text is an empty object).
    ///
    /// # Errors
    /// The parse error when the model wrote something that is not JSON.
    pub fn parsed_arguments(&self) -> Result<Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_str(&self.arguments)
    }
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| {
            char::from(
                ALPHABET
                    .get(((n >> shift) & 63) as usize)
                    .copied()
                    .unwrap_or(b'A'),
            )
        };
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn empty_arguments_are_an_empty_object_and_garbage_is_an_error() {
        assert_eq!(
            ToolCall::new("1", "t", "").parsed_arguments().unwrap(),
            serde_json::json!({})
        );
        assert!(ToolCall::new("1", "t", "{oops").parsed_arguments().is_err());
    }
}

//! Media a model makes: what a request asks for ([`MediaOutput`]), and the
//! bytes that come back ([`Media`] in [`ChatResponse::media`](super::ChatResponse::media)),
//! read or saved.

use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::message::{Media, MediaKind, MediaSource};
use crate::error::{Error, Result};

/// Media a request asks the model to make besides (or instead of) text
/// ([`ChatRequest::media_output`](super::ChatRequest::media_output)).
///
/// ```
/// use typecall::chat::{ChatRequest, MediaOutput, Message};
/// // Xiaomi's text-to-speech model speaks the assistant message it is given.
/// let req = ChatRequest::new(vec![Message::assistant("Hello!")])
///     .media_output(MediaOutput::speech("mp3"));
/// assert_eq!(req.media_output, Some(MediaOutput::speech("mp3")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaOutput {
    /// Speech, in an audio format (`mp3`, `wav`, `flac`, `opus`, `pcm16`).
    Speech {
        /// The audio format.
        format: String,
        /// The voice, where the provider has voices (its default otherwise).
        voice: Option<String>,
    },
    /// An image made from the prompt.
    Image,
}

impl MediaOutput {
    /// Speech in this audio format, in the provider's default voice.
    pub fn speech(format: impl Into<String>) -> Self {
        MediaOutput::Speech {
            format: format.into(),
            voice: None,
        }
    }

    /// An image.
    pub fn image() -> Self {
        MediaOutput::Image
    }

    /// The same speech in this voice (an image is unchanged).
    pub fn voice(self, voice: impl Into<String>) -> Self {
        match self {
            MediaOutput::Speech { format, .. } => MediaOutput::Speech {
                format,
                voice: Some(voice.into()),
            },
            other => other,
        }
    }

    /// The kind of media asked for.
    pub fn kind(&self) -> MediaKind {
        match self {
            MediaOutput::Speech { .. } => MediaKind::Audio,
            MediaOutput::Image => MediaKind::Image,
        }
    }
}

impl Media {
    /// Media made of these bytes, their media type read from the bytes
    /// themselves (`application/octet-stream` when they are of no known
    /// kind).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Media {
            media_type: sniff_media_type(bytes).to_owned(),
            source: MediaSource::Base64(super::message::base64(bytes)),
        }
    }

    /// Media given as base64 text, its media type read from its first bytes
    /// (what providers return without naming the type).
    pub(crate) fn from_base64(b64: String) -> Self {
        // 16 characters are 12 bytes: enough for every signature known.
        let head: String = b64
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(16)
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&head)
            .unwrap_or_default();
        Media {
            media_type: sniff_media_type(&bytes).to_owned(),
            source: MediaSource::Base64(b64),
        }
    }

    /// The bytes, decoded.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for media at
    /// a URL (fetch it from [`Media::url`]); [`ErrorKind::Protocol`](crate::ErrorKind::Protocol)
    /// when the provider's base64 does not decode.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        match &self.source {
            MediaSource::Base64(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| Error::protocol(format!("base64 media ({e})"), b64)),
            MediaSource::Url(url) => Err(Error::unsupported(
                String::new(),
                "reading media at a URL",
                format!("fetch it from {url}"),
            )),
        }
    }

    /// Where the provider put the media, when it gave a URL rather than the
    /// bytes.
    pub fn url(&self) -> Option<&str> {
        match &self.source {
            MediaSource::Url(u) => Some(u),
            MediaSource::Base64(_) => None,
        }
    }

    /// The usual file extension of its media type (`mp3`, `png`, …; `bin`
    /// when none is known).
    pub fn extension(&self) -> &'static str {
        let mt = self.media_type.as_str();
        KNOWN
            .iter()
            .find(|(_, t, _)| *t == mt)
            .map_or("bin", |(_, _, ext)| ext)
    }

    /// Writes the bytes into `out` as they are decoded, a few KiB at a time
    /// (never the whole media in memory twice); returns how many were
    /// written.
    ///
    /// # Errors
    /// The writer's error; for media at a URL, or base64 that does not
    /// decode, [`Media::bytes`]'s error as the source of an
    /// [`std::io::Error`].
    pub fn write_to(&self, mut out: impl std::io::Write) -> std::io::Result<u64> {
        match &self.source {
            MediaSource::Base64(b64) => {
                let mut decoder = base64::read::DecoderReader::new(
                    b64.trim().as_bytes(),
                    &base64::engine::general_purpose::STANDARD,
                );
                std::io::copy(&mut decoder, &mut out)
            }
            MediaSource::Url(_) => Err(std::io::Error::other(
                self.bytes()
                    .err()
                    .unwrap_or_else(|| Error::config("no bytes")),
            )),
        }
    }

    /// Writes the bytes to `path` (name it with [`Media::extension`]).
    ///
    /// # Errors
    /// The file's error; [`Media::bytes`]'s error, as the source of an
    /// [`std::io::Error`], when there are no bytes to write.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let bytes = self.bytes().map_err(std::io::Error::other)?;
        std::fs::write(path, bytes)
    }
}

/// (magic bytes at the start, media type, extension); WAV and WebP are told
/// by their RIFF form type, MP3 also by its frame sync.
const KNOWN: [(&[u8], &str, &str); 9] = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF8", "image/gif", "gif"),
    (b"RIFF", "image/webp", "webp"),
    (b"RIFF", "audio/wav", "wav"),
    (b"ID3", "audio/mpeg", "mp3"),
    (b"fLaC", "audio/flac", "flac"),
    (b"OggS", "audio/ogg", "ogg"),
    (b"%PDF", "application/pdf", "pdf"),
];

/// The media type of these bytes, by their first bytes.
fn sniff_media_type(bytes: &[u8]) -> &'static str {
    if let (Some(b"RIFF"), Some(form)) = (bytes.get(..4), bytes.get(8..12)) {
        return match form {
            b"WEBP" => "image/webp",
            b"WAVE" => "audio/wav",
            _ => "application/octet-stream",
        };
    }
    if let Some((_, media_type, _)) = KNOWN
        .iter()
        .find(|(magic, _, _)| *magic != b"RIFF" && bytes.starts_with(magic))
    {
        return media_type;
    }
    // An MPEG audio frame: eleven set sync bits.
    match bytes {
        [0xff, second, ..] if second & 0xe0 == 0xe0 => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_read_from_the_bytes() {
        for (bytes, want, ext) in [
            (&b"\x89PNG\r\n\x1a\nrest"[..], "image/png", "png"),
            (b"\xff\xd8\xff\xe0", "image/jpeg", "jpg"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp", "webp"),
            (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav", "wav"),
            (b"ID3\x04", "audio/mpeg", "mp3"),
            (b"\xff\xfb\x90\x00", "audio/mpeg", "mp3"),
            (b"OggS", "audio/ogg", "ogg"),
            (b"RIFF\0\0\0\0AVI ", "application/octet-stream", "bin"),
            (b"", "application/octet-stream", "bin"),
            (b"\xff", "application/octet-stream", "bin"),
        ] {
            let m = Media::from_bytes(bytes);
            assert_eq!((m.media_type.as_str(), m.extension()), (want, ext));
            let MediaSource::Base64(b64) = &m.source else {
                unreachable!()
            };
            if bytes.len() >= 12 {
                assert_eq!(Media::from_base64(b64.clone()).media_type, want);
            }
            assert_eq!(m.bytes().unwrap(), bytes, "{want}");
        }
    }

    #[test]
    fn media_are_saved_and_what_cannot_be_read_is_an_error() {
        let dir = std::env::temp_dir().join(format!("typecall-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hi.mp3");
        Media::from_bytes(b"ID3 sound").save(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ID3 sound");
        let _ = std::fs::remove_dir_all(&dir);

        let bad = Media {
            media_type: "audio/mpeg".into(),
            source: MediaSource::Base64("not base64!".into()),
        };
        assert_eq!(bad.bytes().unwrap_err().kind(), crate::ErrorKind::Protocol);
        let far = Media {
            media_type: "image/jpeg".into(),
            source: MediaSource::Url("https://example.com/a.jpg".into()),
        };
        assert_eq!(far.url(), Some("https://example.com/a.jpg"));
        let e = far.bytes().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        assert!(e.to_string().contains("https://example.com/a.jpg"), "{e}");
        assert_eq!(
            MediaOutput::speech("wav").voice("alto"),
            MediaOutput::Speech {
                format: "wav".into(),
                voice: Some("alto".into())
            }
        );
        assert_eq!(MediaOutput::image().voice("x").kind(), MediaKind::Image);
        assert!(bad.write_to(Vec::new()).is_err() && far.write_to(Vec::new()).is_err());
    }

    #[test]
    fn media_stream_into_a_writer_as_they_decode() {
        let sound: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let m = Media::from_bytes(&sound);
        let mut out = Vec::new();
        assert_eq!(m.write_to(&mut out).unwrap(), sound.len() as u64);
        assert_eq!(out, sound);
    }
}

//! A tool result made of content blocks: text, images, audio and embedded
//! resources, for tools whose answer is more than one text or JSON value.

use serde::{Deserialize, Serialize};

use crate::chat::base64;

/// A tool result made of content blocks, built in order. Return it from a
/// `#[tool]` function (or a `Result<ToolContent, E>`):
///
/// ```
/// use typecall::tool::ToolContent;
///
/// /// A chart of the week's sales.
/// #[typecall::tool]
/// fn sales_chart() -> ToolContent {
///     let png: &[u8] = &[0x89, b'P', b'N', b'G'];
///     ToolContent::new()
///         .text("Sales rose 4% this week.")
///         .image("image/png", png)
/// }
/// ```
///
/// Over MCP each block is sent as its own content block (`text`, `image`,
/// `audio`, `resource`). A model provider's tool message carries text only:
/// a model reads the text blocks and embedded text resources as they are,
/// and a line naming each image, audio clip or binary resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolContent {
    blocks: Vec<ContentBlock>,
}

/// One block of a [`ToolContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Its media type (`image/png`).
        media_type: String,
        /// Its bytes, base64.
        data: String,
    },
    /// An audio clip.
    Audio {
        /// Its media type (`audio/wav`).
        media_type: String,
        /// Its bytes, base64.
        data: String,
    },
    /// A resource given with its contents.
    Resource {
        /// Its URI.
        uri: String,
        /// Its media type, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
        /// Its contents.
        contents: ResourceContents,
    },
}

/// The contents of an embedded resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceContents {
    /// Text.
    Text(String),
    /// Bytes, base64.
    Blob(String),
}

impl ToolContent {
    /// No blocks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text block.
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(ContentBlock::Text { text: text.into() });
        self
    }

    /// Adds an image of this media type (`image/png`).
    #[must_use]
    pub fn image(mut self, media_type: impl Into<String>, bytes: &[u8]) -> Self {
        self.blocks.push(ContentBlock::Image {
            media_type: media_type.into(),
            data: base64(bytes),
        });
        self
    }

    /// Adds an audio clip of this media type (`audio/wav`).
    #[must_use]
    pub fn audio(mut self, media_type: impl Into<String>, bytes: &[u8]) -> Self {
        self.blocks.push(ContentBlock::Audio {
            media_type: media_type.into(),
            data: base64(bytes),
        });
        self
    }

    /// Adds a text resource: its URI, media type and text.
    #[must_use]
    pub fn resource_text(
        mut self,
        uri: impl Into<String>,
        media_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        self.blocks.push(ContentBlock::Resource {
            uri: uri.into(),
            media_type: Some(media_type.into()),
            contents: ResourceContents::Text(text.into()),
        });
        self
    }

    /// Adds a binary resource: its URI, media type and bytes.
    #[must_use]
    pub fn resource_bytes(
        mut self,
        uri: impl Into<String>,
        media_type: impl Into<String>,
        bytes: &[u8],
    ) -> Self {
        self.blocks.push(ContentBlock::Resource {
            uri: uri.into(),
            media_type: Some(media_type.into()),
            contents: ResourceContents::Blob(base64(bytes)),
        });
        self
    }

    /// Adds a block as it is (one read from an MCP server, say).
    #[must_use]
    pub fn block(mut self, block: ContentBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[ContentBlock] {
        &self.blocks
    }

    /// The content as a model reads it in a tool message: text blocks and
    /// text resources as they are, a line naming each image, audio clip or
    /// binary resource; one block per line.
    pub fn to_text(&self) -> String {
        let lines: Vec<String> = self
            .blocks
            .iter()
            .map(|b| match b {
                ContentBlock::Text { text } => text.clone(),
                ContentBlock::Image { media_type, data } => {
                    format!("[image: {media_type}, {} bytes]", decoded_len(data))
                }
                ContentBlock::Audio { media_type, data } => {
                    format!("[audio: {media_type}, {} bytes]", decoded_len(data))
                }
                ContentBlock::Resource {
                    uri,
                    media_type,
                    contents,
                } => {
                    let kind = media_type.as_deref().unwrap_or("unknown type");
                    match contents {
                        ResourceContents::Text(text) => {
                            format!("[resource {uri} ({kind})]\n{text}")
                        }
                        ResourceContents::Blob(data) => {
                            format!("[resource {uri} ({kind}), {} bytes]", decoded_len(data))
                        }
                    }
                }
            })
            .collect();
        lines.join("\n")
    }
}

/// The number of bytes base64 `data` decodes to.
fn decoded_len(data: &str) -> usize {
    let padding = data.bytes().rev().take_while(|b| *b == b'=').count();
    (data.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_reads_text_and_a_line_per_media_block() {
        let content = ToolContent::new()
            .text("Two charts:")
            .image("image/png", &[1, 2, 3, 4])
            .audio("audio/wav", &[1, 2])
            .resource_text("test://notes", "text/plain", "cold")
            .resource_bytes("test://raw", "application/octet-stream", &[0; 5]);
        assert_eq!(
            content.to_text(),
            "Two charts:\n[image: image/png, 4 bytes]\n[audio: audio/wav, 2 bytes]\n\
             [resource test://notes (text/plain)]\ncold\n\
             [resource test://raw (application/octet-stream), 5 bytes]"
        );
        assert_eq!(
            content.blocks().get(1),
            Some(&ContentBlock::Image {
                media_type: "image/png".into(),
                data: "AQIDBA==".into()
            })
        );
    }
}

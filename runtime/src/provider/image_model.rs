//! What every text-to-image model shares, whatever its API: what it can be
//! asked (an image from a prompt, seeded), and a request read as its prompt.

use super::capabilities::{Capabilities, Support};
use super::check_request;
use crate::chat::{ChatRequest, ContentPart, MediaOutput, Message};
use crate::error::{Error, Result};

/// An image from a text prompt, seeded on request; nothing else.
pub(crate) fn capabilities() -> Capabilities {
    let mut c = Capabilities::unknown();
    c.image_output = Support::Yes;
    c.seed = Support::Yes;
    for s in [
        &mut c.json_mode,
        &mut c.json_schema,
        &mut c.grammar,
        &mut c.tools,
        &mut c.tool_choice_required,
        &mut c.max_tokens,
        &mut c.stop,
        &mut c.logprobs,
        &mut c.images,
        &mut c.pdf,
        &mut c.audio,
        &mut c.video,
        &mut c.citations,
        &mut c.web_search,
        &mut c.web_fetch,
        &mut c.reasoning_effort,
        &mut c.speech_output,
    ] {
        *s = Support::No;
    }
    c
}

/// `request` as the prompt of image model `model`: its system and user text,
/// paragraphs apart. Refuses what an image model is not asked (speech, media
/// in, anything its capabilities refuse) and a request with no text.
pub(crate) fn prompt(model: &str, caps: &Capabilities, request: &ChatRequest) -> Result<String> {
    check_request(model, caps, request)?;
    if let Some(MediaOutput::Speech { .. }) = request.media_output {
        return Err(Error::unsupported(
            model.to_owned(),
            "speech output",
            "an image model makes images",
        ));
    }
    let mut prompt = Vec::new();
    for m in &request.messages {
        match m {
            Message::System { content } => prompt.push(content.as_str()),
            Message::User { content } => {
                for part in content {
                    match part {
                        ContentPart::Text(t) => prompt.push(t.as_str()),
                        ContentPart::Document(d) => prompt.push(d.text.as_str()),
                        _ => {
                            return Err(Error::unsupported(
                                model.to_owned(),
                                "image input",
                                "describe the image in the prompt",
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let prompt = prompt.join("\n\n");
    if prompt.trim().is_empty() {
        return Err(Error::unsupported(
            model.to_owned(),
            "a request without a prompt",
            "say what the image shows in a user message",
        ));
    }
    Ok(prompt)
}

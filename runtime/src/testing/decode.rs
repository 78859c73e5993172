//! The provider decoders on whole recorded bodies, and the server-sent-event
//! parser: what replay tests and fuzzers feed recorded bytes to. A blocking
//! body gives the [`ChatResponse`](crate::chat::ChatResponse) a model's `chat`
//! returns; a whole stream the one its `stream` ends with.

pub use crate::provider::anthropic::{
    parse_message as anthropic_message, parse_message_stream as anthropic_stream,
};
pub use crate::provider::gemini::{
    parse_response as gemini_response, parse_response_stream as gemini_stream,
};
pub use crate::provider::openai_compat::decode::parse_chat_response as chat_response;
pub use crate::provider::openai_compat::stream::parse_chat_stream as chat_stream;
pub use crate::provider::openai_responses::{
    parse_response as responses_response, parse_response_stream as responses_stream,
};
pub use crate::provider::sse::{SseEvent, SseParser};

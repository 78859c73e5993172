//! The provider-neutral conversation model: messages, requests, responses and
//! stream events.

mod message;
mod request;
mod response;
mod stream;
mod think;

pub use message::{ContentPart, Message, ToolCall};
pub use request::{ChatRequest, ConversationError, ReasoningEffort, ResponseFormat, ToolChoice};
pub use response::{
    ChatResponse, FinishReason, RateLimit, RateLimitResource, RateLimitWindow, RateLimits,
    TimeInfo, TokenLogprob, TopLogprob, Usage,
};
#[cfg(feature = "testing")]
pub(crate) use stream::events_in_chunks;
pub use stream::{ChunkDelta, StreamAccumulator, StreamEvent, ToolCallDelta};
pub(crate) use stream::{MetaNeeded, events_of};
pub(crate) use think::separate_reasoning;
pub use think::split_think;

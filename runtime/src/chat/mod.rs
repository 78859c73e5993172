//! The provider-neutral conversation model: messages, requests, responses and
//! stream events.

mod generated;
mod message;
mod request;
mod response;
mod stream;
mod think;

pub use generated::MediaOutput;
pub(crate) use message::base64;
pub use message::{
    ContentPart, Document, Media, MediaKind, MediaSource, Message, ProviderState, ToolCall,
};
pub use request::{
    ChatRequest, ConversationError, ReasoningEffort, ResponseFormat, ServerTool, ToolChoice,
};
pub use response::{
    ChatResponse, Citation, CitationSource, FinishReason, RateLimit, RateLimitResource,
    RateLimitWindow, RateLimits, ServerToolCall, TimeInfo, TokenLogprob, TopLogprob, Usage,
    WebSource,
};
#[cfg(feature = "testing")]
pub(crate) use stream::events_in_chunks;
pub use stream::{ChunkDelta, StreamAccumulator, StreamEvent, ToolCallDelta};
pub(crate) use stream::{MetaNeeded, events_of};
pub(crate) use think::separate_reasoning;
pub use think::split_think;

//! What a wire format is to the one client ([`ProtocolClient`](super::ProtocolClient)):
//! where a request goes, how it is written, how its answer is read.

use serde_json::Value;

use super::Limits;
use super::http::ApiKey;
use super::streaming::Decode;
use crate::chat::{ChatRequest, ChatResponse, RateLimits};
use crate::error::Result;

/// A wire format: where a model's requests go, how they are written, and how
/// their answers (blocking or streamed) are read. Implemented by each
/// protocol's settings type (what a model of it keeps besides its name and
/// capabilities).
pub(crate) trait Protocol: Send + Sync + 'static {
    /// Reads a streamed answer.
    type Decoder: Decode;
    /// The path after the base URL a request for `model` goes to.
    fn path(&self, model: &str, stream: bool) -> String;
    /// The JSON body of `request` for `model`.
    fn body(&self, model: &str, request: &ChatRequest, stream: bool) -> Result<Value>;
    /// Reads a blocking answer's body.
    fn read(&self, text: &str, model: &str, limits: &Limits) -> Result<ChatResponse>;
    /// A decoder for a streamed answer whose headers gave `rate_limits`.
    fn decoder(
        &self,
        model: &str,
        rate_limits: RateLimits,
        key: Option<ApiKey>,
        limits: &Limits,
    ) -> Self::Decoder;
}

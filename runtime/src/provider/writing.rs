//! What the protocols' request types share.

use serde::Serialize;
use serde_json::Value;

/// For `skip_serializing_if`: a flag written only when set.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
pub(crate) fn is_false(b: &bool) -> bool {
    !b
}

/// An item of a request's list: one typecall wrote, or one the model gave
/// in an earlier answer that goes back exactly as it came (signed thinking,
/// encrypted reasoning).
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Outgoing<'a, T> {
    /// Written from the conversation.
    Written(T),
    /// Kept from the provider's answer.
    Kept(&'a Value),
}

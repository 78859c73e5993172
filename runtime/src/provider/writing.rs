//! What the protocols' request types share.

use serde::Serialize;
use serde_json::Value;

/// For `skip_serializing_if`: a flag written only when set.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde passes a reference
pub(crate) fn is_false(b: &bool) -> bool {
    !b
}

/// `text` percent-encoded for a URL: unreserved bytes (letters, digits,
/// `-._~`) and those in `keep` as they are, every other byte as `%XX`.
pub(crate) fn percent_encoded(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// A function tool as chat-completions-like APIs without `strict` write it
/// (Workers AI's, Ollama's): `{"type": "function", "function":
/// {description, name, parameters}}`, and none when `none` of them may be
/// called (the tools left out: no `tool_choice` to say it).
pub(crate) fn plain_function_tools(req: &crate::chat::ChatRequest) -> Vec<PlainTool<'_>> {
    if req.tool_choice == Some(crate::chat::ToolChoice::None) {
        return Vec::new();
    }
    req.tools.iter().map(plain_tool).collect()
}

/// One function tool in the form of [`plain_function_tools`].
pub(crate) fn plain_tool(t: &crate::tool::ToolDef) -> PlainTool<'_> {
    PlainTool {
        kind: "function",
        function: PlainFunction {
            description: &t.description,
            name: &t.name,
            parameters: &t.parameters,
        },
    }
}

/// See [`plain_function_tools`].
#[derive(Serialize)]
pub(crate) struct PlainTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: PlainFunction<'a>,
}

#[derive(Serialize)]
struct PlainFunction<'a> {
    description: &'a str,
    name: &'a str,
    parameters: &'a Value,
}

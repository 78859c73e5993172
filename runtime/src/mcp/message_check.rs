//! What makes an incoming MCP message unreadable, whatever the transport
//! brought it: not JSON, not one JSON-RPC message, or a `tools/call` whose
//! parameters are not the shape every tool call has. rmcp alone answers
//! such messages with nothing, or with the wrong error.

use serde_json::{Value, json};

/// A message refused before the protocol sees it, as the JSON-RPC error to
/// answer with.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Unreadable {
    /// The message's id, when it had one.
    pub id: Value,
    /// -32700 (not JSON), -32600 (not one message) or -32602 (bad params).
    pub code: i64,
    /// Why, for the client.
    pub message: String,
}

impl Unreadable {
    /// The JSON-RPC error message.
    pub fn to_json(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}})
    }
}

/// Checks one incoming message.
pub(super) fn check(bytes: &[u8]) -> Result<(), Unreadable> {
    let refuse = |id: &Value, code: i64, message: String| Unreadable {
        id: id.clone(),
        code,
        message,
    };
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        refuse(
            &Value::Null,
            -32700,
            format!("Parse error: the message is not JSON ({e})"),
        )
    })?;
    let Some(message) = value.as_object() else {
        let why = if value.is_array() {
            "Invalid Request: JSON-RPC batches are not part of MCP (since 2025-06-18); send one message at a time"
        } else {
            "Invalid Request: a JSON-RPC message is an object"
        };
        return Err(refuse(&Value::Null, -32600, why.to_owned()));
    };
    let id = message.get("id").unwrap_or(&Value::Null);
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(refuse(
            id,
            -32600,
            "Invalid Request: `jsonrpc` must be \"2.0\"".to_owned(),
        ));
    }
    if message.get("method").and_then(Value::as_str) == Some("tools/call") {
        let params = message.get("params");
        let name_ok = params
            .and_then(|p| p.get("name"))
            .is_some_and(Value::is_string);
        let args_ok = params
            .and_then(|p| p.get("arguments"))
            .is_none_or(|a| a.is_object() || a.is_null());
        if !name_ok || !args_ok {
            return Err(refuse(
                id,
                -32602,
                "Invalid params: `tools/call` takes {\"name\": string, \"arguments\": object}"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_unreadable_message_gets_its_code() {
        let code = |text: &str| check(text.as_bytes()).err().map(|u| u.code);
        assert_eq!(code("{oops"), Some(-32700));
        assert_eq!(code("[]"), Some(-32600));
        assert_eq!(code("7"), Some(-32600));
        assert_eq!(
            code(r#"{"jsonrpc": "1.0", "id": 1, "method": "ping"}"#),
            Some(-32600)
        );
        let bad = r#"{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "f", "arguments": [1]}}"#;
        let refused = check(bad.as_bytes()).unwrap_err();
        assert_eq!((refused.code, refused.id), (-32602, json!(4)));
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "f"}}"#),
            None
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#),
            None
        );
    }
}

//! What a tool says about itself beyond its arguments: behaviour hints
//! ([`ToolAnnotations`], MCP's tool annotations) and the schema of what it
//! returns ([`output_schema_for`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Hints about a tool's behaviour, for clients deciding how to present or
/// confirm a call (MCP's `ToolAnnotations`). They are hints: a client must not
/// trust them from a server it does not trust.
///
/// `#[tool(read_only)]`, `#[tool(destructive)]`, `#[tool(idempotent)]`,
/// `#[tool(open_world)]` and `#[tool(title = "…")]` set them.
///
/// ```
/// use typecall::tool::ToolAnnotations;
/// let hints = ToolAnnotations::new().title("Delete a file").destructive(true);
/// assert!(hints.may_destroy());
/// assert!(!ToolAnnotations::new().read_only(true).may_destroy());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolAnnotations {
    /// A human-readable title.
    pub title: Option<String>,
    /// The tool does not change its environment.
    pub read_only: Option<bool>,
    /// The tool may destroy or overwrite (meaningful when not read-only).
    pub destructive: Option<bool>,
    /// Calling it again with the same arguments changes nothing more.
    pub idempotent: Option<bool>,
    /// The tool reaches an open world (the web, other systems).
    pub open_world: Option<bool>,
}

impl ToolAnnotations {
    /// No hints.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets the read-only hint.
    pub fn read_only(mut self, yes: bool) -> Self {
        self.read_only = Some(yes);
        self
    }
    /// Sets the destructive hint.
    pub fn destructive(mut self, yes: bool) -> Self {
        self.destructive = Some(yes);
        self
    }
    /// Sets the idempotent hint.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = Some(yes);
        self
    }
    /// Sets the open-world hint.
    pub fn open_world(mut self, yes: bool) -> Self {
        self.open_world = Some(yes);
        self
    }
    /// Whether a call may destroy something, read as MCP defines the hints:
    /// unless the tool says it is read-only or not destructive, it may.
    pub fn may_destroy(&self) -> bool {
        self.read_only != Some(true) && self.destructive != Some(false)
    }
}

/// The key an output schema carries when a non-object result was wrapped as
/// `{"result": …}` (MCP's structured content is always an object).
pub const WRAPPED_RESULT: &str = "x-typecall-wrap-result";

/// The JSON Schema (2020-12) of what a tool returning `T` gives back, as an
/// object: a `T` that is not an object is wrapped as `{"result": T}` and the
/// schema says so with [`WRAPPED_RESULT`]. `None` when `T` has no useful
/// schema (`()`, any value).
pub fn output_schema_for<T: schemars::JsonSchema + ?Sized>() -> Option<Value> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut root = generator.into_root_schema_for::<T>().to_value();
    let object = root.as_object_mut()?;
    object.shift_remove("$schema");
    object.shift_remove("title");
    match object.get("type") {
        Some(Value::String(t)) if t == "object" => Some(root),
        Some(Value::String(t)) if t == "null" => None,
        _ if object.is_empty() => None,
        _ => {
            let defs = object.shift_remove("$defs");
            let mut wrapped = json!({
                "type": "object",
                "properties": {"result": root},
                "required": ["result"],
                WRAPPED_RESULT: true,
            });
            if let (Some(defs), Some(w)) = (defs, wrapped.as_object_mut()) {
                w.insert("$defs".to_owned(), defs);
            }
            Some(wrapped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_stay_scalars_are_wrapped_unit_has_none() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Point {
            x: f64,
        }
        let p = output_schema_for::<Point>().unwrap();
        assert_eq!(p["type"], "object");
        assert!(p.get(WRAPPED_RESULT).is_none());
        let f = output_schema_for::<f64>().unwrap();
        assert_eq!(f["properties"]["result"]["type"], "number");
        assert_eq!(f[WRAPPED_RESULT], true);
        let v = output_schema_for::<Vec<Point>>().unwrap();
        assert!(v["$defs"]["Point"].is_object(), "{v}");
        assert!(output_schema_for::<()>().is_none());
        assert!(output_schema_for::<Value>().is_none());
    }
}

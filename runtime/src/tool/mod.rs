//! What a tool is, independent of any provider.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{Dialect, Schema, SchemaError, schema_for};

/// A tool as a model sees it: a name, a description, and the JSON Schema of its
/// arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// The name the model calls it by (`^[a-zA-Z0-9_-]{1,64}$`).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of the arguments object, as sent.
    pub parameters: Value,
    /// Whether the provider should enforce the schema while decoding (`strict`).
    pub strict: bool,
}

impl ToolDef {
    /// A tool whose arguments are `Args`, with a [`Dialect::Strict`] schema.
    ///
    /// # Errors
    /// [`SchemaError`] when `Args` cannot be expressed strictly.
    pub fn of<Args: schemars::JsonSchema + 'static>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Result<Self, SchemaError> {
        let schema = schema_for::<Args>(Dialect::Strict)?;
        Ok(Self::from_schema(name, description, schema))
    }

    /// A tool whose arguments follow `schema`.
    pub fn from_schema(
        name: impl Into<String>,
        description: impl Into<String>,
        schema: &Schema,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters: schema.as_json().clone(),
            strict: schema.dialect().is_strict(),
        }
    }

    /// A tool from a parameters schema written by hand.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: false,
        }
    }

    /// Sets whether the provider enforces the schema (`strict`).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

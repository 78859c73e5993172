//! Tools defined at run time: a name, a description, a JSON Schema and a
//! closure, without a hand-written `impl Tool` (tools read from a file, an
//! evaluation's function list, a plug-in).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use super::{Tool, ToolContext, ToolDef, ToolError, ToolResult, ToolValue};
use crate::future::BoxFuture;
use crate::schema::{Dialect, Schema, SchemaError};

type Body = dyn Fn(Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync;

/// A tool made of a JSON Schema and a closure.
///
/// The arguments are checked against the schema (the full one, with every
/// constraint) before the closure runs; a call that breaks it goes back to the
/// model as [`ToolError::InvalidArguments`]. The closure's `Err` goes back as
/// the tool's error; a string result is sent as text, anything else as JSON.
///
/// ```
/// use serde_json::json;
/// use typecall::tool::{FnTool, Toolbox};
///
/// let add = FnTool::new(
///     "math.add", // names with dots are fine: the agent maps them for providers that refuse them
///     "Add two integers.",
///     json!({"type": "object",
///            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
///            "required": ["a", "b"]}),
///     |args| async move {
///         let (a, b) = (args["a"].as_i64().unwrap_or(0), args["b"].as_i64().unwrap_or(0));
///         Ok::<_, String>(json!(a + b))
///     },
/// )
/// .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let tools = Toolbox::new().with(add).unwrap();
/// assert_eq!(tools.call("math.add", r#"{"a": 2, "b": 3}"#).await.unwrap().to_content(), "5");
/// let err = tools.call("math.add", r#"{"a": "two", "b": 3}"#).await.unwrap_err();
/// assert!(err.to_string().contains("/a"), "{err}");
/// # });
/// ```
#[derive(Clone)]
pub struct FnTool {
    def: ToolDef,
    schema: Arc<Schema>,
    body: Arc<Body>,
}

impl fmt::Debug for FnTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTool")
            .field("name", &self.def.name)
            .field("description", &self.def.description)
            .finish_non_exhaustive()
    }
}

impl FnTool {
    /// A tool named `name` whose arguments follow `parameters` (a JSON Schema
    /// of an object, 2020-12), run by `body`.
    ///
    /// # Errors
    /// [`SchemaError`] when `parameters` is not a valid JSON Schema.
    pub fn new<F, Fut, T, E>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        body: F,
    ) -> Result<Self, SchemaError>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Into<Value>,
        E: fmt::Display,
    {
        let name = name.into();
        let schema = Schema::from_json(&name, parameters, Dialect::JsonSchema)?;
        let def = ToolDef::new(name, description, schema.as_json().clone());
        let body = Arc::new(
            move |args: Value| -> BoxFuture<'static, Result<Value, String>> {
                let fut = body(args);
                Box::pin(async move { fut.await.map(Into::into).map_err(|e| e.to_string()) })
            },
        );
        Ok(Self {
            def,
            schema: Arc::new(schema),
            body,
        })
    }

    /// The schema the arguments are checked against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl Tool for FnTool {
    fn def(&self) -> &ToolDef {
        &self.def
    }

    fn call<'a>(&'a self, args: Value, _ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            if let Err(e) = self.schema.validate(&args) {
                return Err(ToolError::InvalidArguments {
                    tool: self.def.name.clone(),
                    issues: e.issues().to_vec(),
                });
            }
            match (self.body)(args).await {
                Ok(Value::String(s)) => Ok(ToolValue::Text(s)),
                Ok(v) => Ok(ToolValue::Json(v)),
                Err(message) => Err(ToolError::Failed {
                    tool: self.def.name.clone(),
                    message,
                }),
            }
        })
    }
}

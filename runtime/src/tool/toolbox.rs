//! A set of tools by name, and the dispatch of a model's call to one of them.

use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::Value;

use super::{Tool, ToolContext, ToolDef, ToolError, ToolResult, ToolSet};
use crate::error::{Error, Result};

/// Tools by name, the context they share, and the dispatch of calls.
///
/// ```
/// use typecall::tool::Toolbox;
/// use typecall::tool;
///
/// /// Adds two numbers.
/// #[tool]
/// fn add(a: f64, b: f64) -> f64 { a + b }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let toolbox = Toolbox::new().with(Add)?;
/// let out = toolbox.call("add", r#"{"a": 1, "b": 2.5}"#).await?;
/// assert_eq!(out.to_content(), "3.5");
/// let err = toolbox.call("add", r#"{"a": "one"}"#).await.unwrap_err();
/// assert!(err.to_string().contains("/a"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<Arc<dyn Tool>>,
    by_name: HashMap<String, usize>,
    context: ToolContext,
    timeout: Option<Duration>,
}

impl fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Toolbox")
            .field("tools", &self.names())
            .field("context", &self.context)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a duplicate name or an invalid one, and
    /// [`ErrorKind::Schema`](crate::ErrorKind::Schema) for a tool whose schema could not be built.
    pub fn add(&mut self, tool: impl Tool) -> Result<&mut Self> {
        self.add_arc(Arc::new(tool))
    }

    /// Adds a shared tool.
    ///
    /// # Errors
    /// As [`Toolbox::add`].
    pub fn add_arc(&mut self, tool: Arc<dyn Tool>) -> Result<&mut Self> {
        if let Some(e) = tool.schema_error() {
            return Err(Error::from(e.clone()));
        }
        let name = tool.def().name.clone();
        if !valid_name(&name) {
            return Err(Error::config(format!(
                "tool name `{name}` must have 1 to 128 characters, none of them a space or a control character"
            )));
        }
        if self.by_name.contains_key(&name) {
            return Err(Error::config(format!(
                "two tools are named `{name}`; rename one with #[tool(name = \"…\")]"
            )));
        }
        self.by_name.insert(name, self.tools.len());
        self.tools.push(tool);
        Ok(self)
    }

    /// Removes the tool named `name`, if there is one.
    pub fn remove(&mut self, name: &str) -> Option<Arc<dyn Tool>> {
        let at = self.by_name.remove(name)?;
        let tool = self.tools.remove(at);
        for index in self.by_name.values_mut() {
            if *index > at {
                *index -= 1;
            }
        }
        Some(tool)
    }

    /// Adds every tool of a set (`#[tools]` on an `impl` block).
    ///
    /// # Errors
    /// As [`Toolbox::add`].
    pub fn add_set(&mut self, set: impl ToolSet) -> Result<&mut Self> {
        for t in set.into_tools() {
            self.add_arc(t)?;
        }
        Ok(self)
    }

    /// Builder form of [`Toolbox::add`].
    ///
    /// # Errors
    /// As [`Toolbox::add`].
    pub fn with(mut self, tool: impl Tool) -> Result<Self> {
        self.add(tool)?;
        Ok(self)
    }

    /// Builder form of [`Toolbox::add_set`].
    ///
    /// # Errors
    /// As [`Toolbox::add`].
    pub fn with_set(mut self, set: impl ToolSet) -> Result<Self> {
        self.add_set(set)?;
        Ok(self)
    }

    /// Adds a context value, handed to tools that take `Ctx<S>` or `&S`.
    pub fn context<S: Send + Sync + 'static>(mut self, state: S) -> Self {
        self.context.insert(state);
        self
    }

    /// The same toolbox with each tool replaced by what `wrap` makes of it
    /// (its name unchanged).
    #[cfg(feature = "restate")]
    pub(crate) fn map_tools(&self, mut wrap: impl FnMut(Arc<dyn Tool>) -> Arc<dyn Tool>) -> Self {
        Self {
            tools: self.tools.iter().cloned().map(&mut wrap).collect(),
            ..self.clone()
        }
    }

    /// The context tools are given.
    pub fn context_mut(&mut self) -> &mut ToolContext {
        &mut self.context
    }

    /// A time limit for every call.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The definitions, in the order added.
    pub fn defs(&self) -> Vec<ToolDef> {
        self.tools.iter().map(|t| t.def().clone()).collect()
    }

    /// The names, in the order added.
    pub fn names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.def().name.clone()).collect()
    }

    /// The tool of this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.by_name.get(name).and_then(|&i| self.tools.get(i))
    }

    /// Whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Runs a call as the model wrote it: `arguments` is its raw text. Every
    /// failure comes back as a [`ToolError`] for the model: unknown tool, not
    /// JSON, invalid arguments (each JSON pointer), the tool's own error, a
    /// panic (caught), a timeout.
    ///
    /// # Errors
    /// The [`ToolError`], whose text is what the model should see.
    pub async fn call(&self, name: &str, arguments: &str) -> ToolResult {
        self.call_in(name, arguments, &self.context).await
    }

    /// As [`Toolbox::call`], with the tools given `ctx` instead of the
    /// toolbox's own context (an agent adds per-run values to a copy of it).
    ///
    /// # Errors
    /// As [`Toolbox::call`].
    pub async fn call_in(&self, name: &str, arguments: &str, ctx: &ToolContext) -> ToolResult {
        let tool = self.find(name)?;
        let args: Value = if arguments.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(arguments).map_err(|e| ToolError::NotJson {
                tool: name.to_owned(),
                error: e.to_string(),
            })?
        };
        self.call_value(tool.as_ref(), args, ctx).await
    }

    /// The context tools are given.
    pub fn tool_context(&self) -> &ToolContext {
        &self.context
    }

    /// The time limit of every call, if any.
    pub fn call_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Runs a call with already parsed arguments.
    ///
    /// # Errors
    /// As [`Toolbox::call`].
    pub async fn call_json(&self, name: &str, args: Value) -> ToolResult {
        let tool = self.find(name)?;
        self.call_value(tool.as_ref(), args, &self.context).await
    }

    /// The tool named `name`, or the error that lists the known ones.
    fn find(&self, name: &str) -> Result<&Arc<dyn Tool>, ToolError> {
        self.get(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_owned(),
            known: self.names(),
        })
    }

    async fn call_value(&self, tool: &dyn Tool, args: Value, ctx: &ToolContext) -> ToolResult {
        let name = tool.def().name.clone();
        let span = tracing::info_span!(
            "execute_tool",
            otel.name = %format!("execute_tool {name}"),
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = %name,
        );
        let run = tracing::Instrument::instrument(
            AssertUnwindSafe(super::panics::Marked::new(tool.call(args, ctx))).catch_unwind(),
            span,
        );
        let outcome = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(ToolError::TimedOut {
                        tool: name,
                        after: limit,
                    });
                }
            },
            None => run.await,
        };
        match outcome {
            Ok(result) => result,
            Err(panic) => Err(ToolError::Panicked {
                tool: name,
                message: panic_message(panic),
            }),
        }
    }
}

/// Whether a tool may be named so: what a provider refuses on the wire (a dot,
/// more than 64 characters) the agent maps to a name it accepts.
fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count())
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(crate) fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    /// A place in a contract.
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Place {
        /// A name.
        name: String,
        /// Coordinates.
        at: Option<[f64; 2]>,
        /// Tags.
        tags: Vec<Tag>,
    }

    /// A tag.
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    enum Tag {
        /// Near.
        Near,
        /// Far, by so much.
        Far(u8),
    }

    /// Books a place.
    #[crate::tool]
    fn book(
        /// Where.
        place: Place,
        /// How many nights.
        nights: u16,
    ) -> String {
        format!("{} for {nights}", place.name)
    }

    #[test]
    fn fuzz_tool_arguments() {
        let toolbox = crate::tool::Toolbox::new()
            .with(Book)
            .expect("the tool builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let input = prop_oneof![
            jsonish(),
            Just(r#"{"place": {"name": "x", "at": [1, 2], "tags": ["Near", {"Far": 300}]}, "nights": 70000}"#.to_owned()),
            Just(format!("{{\"place\": {}}}", "[".repeat(5000))),
        ];
        fuzz("tool_arguments", 2000, input, |args| {
            let out = rt.block_on(toolbox.call("book", &args));
            if let Err(e) = &out {
                prop_assert!(
                    matches!(
                        e,
                        crate::tool::ToolError::NotJson { .. }
                            | crate::tool::ToolError::InvalidArguments { .. }
                    ),
                    "{e:?}"
                );
                prop_assert!(!e.to_string().is_empty());
            }
            Ok(())
        });
    }
}

//! What a tool is, independent of any provider: the [`Tool`] trait that
//! `#[tool]`, `#[tools]` and `#[derive(Tool)]` implement, its [`ToolDef`], the
//! [`Toolbox`] that dispatches calls, and the errors a model gets back.

mod annotations;
mod content;
mod context;
mod error;
mod function;
mod panics;
mod report;
mod toolbox;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::future::BoxFuture;
use crate::schema::{Dialect, Schema, SchemaError, schema_for};

pub use annotations::{ToolAnnotations, WRAPPED_RESULT, output_schema_for};
pub use content::{ContentBlock, ResourceContents, ToolContent};
pub use context::{Ctx, ToolContext};
pub use error::ToolError;
pub use function::FnTool;
pub use report::{LogLevel, ReportSink, Reporter};
pub use toolbox::Toolbox;

/// A tool as a model sees it: a name, a description, and the JSON Schema of its
/// arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// The name the model calls it by: 1 to 128 characters, no spaces or
    /// control characters. Names a provider refuses on the wire (`math.factorial`:
    /// most want `^[a-zA-Z0-9_-]{1,64}$`) are mapped by the agent to one it
    /// accepts, and back.
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

/// What a tool returns to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ToolValue {
    /// Structured data, sent as JSON text.
    Json(Value),
    /// Text, sent as is.
    Text(String),
    /// Content blocks: text, images, audio, embedded resources (what a
    /// tool returning a [`ToolContent`] gives).
    Content(ToolContent),
}

impl ToolValue {
    /// The content of the tool message.
    pub fn to_content(&self) -> String {
        match self {
            ToolValue::Json(v) => v.to_string(),
            ToolValue::Text(t) => t.clone(),
            ToolValue::Content(c) => c.to_text(),
        }
    }
}

/// The outcome of a tool call.
pub type ToolResult = Result<ToolValue, ToolError>;

/// A tool: a definition the model sees, and the code that runs a call.
///
/// `#[tool]`, `#[tools]` and `#[derive(Tool)]` implement it; implement it by
/// hand for tools whose schema is only known at run time.
pub trait Tool: Send + Sync + 'static {
    /// The definition sent to the model.
    fn def(&self) -> &ToolDef;
    /// Runs a call with these (already JSON-parsed) arguments.
    fn call<'a>(&'a self, args: Value, ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult>;
    /// Whether calls of this tool must not run beside each other (it mutates
    /// shared state). `#[tool(sequential)]`.
    fn sequential(&self) -> bool {
        false
    }
    /// Why the definition could not be built strictly, if it could not: a
    /// [`Toolbox`] refuses such a tool with this error.
    fn schema_error(&self) -> Option<&SchemaError> {
        None
    }
    /// Hints about the tool's behaviour (`#[tool(read_only)]`, …); none by
    /// default.
    fn annotations(&self) -> ToolAnnotations {
        ToolAnnotations::default()
    }
    /// The JSON Schema of a successful result, an object (see
    /// [`output_schema_for`]); `#[tool]` gives it when the return type is
    /// `JsonSchema`. MCP clients get it as the tool's `outputSchema`.
    fn output_schema(&self) -> Option<&Value> {
        None
    }
}

impl<T: Tool + ?Sized> Tool for Arc<T> {
    fn def(&self) -> &ToolDef {
        (**self).def()
    }
    fn call<'a>(&'a self, args: Value, ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        (**self).call(args, ctx)
    }
    fn sequential(&self) -> bool {
        (**self).sequential()
    }
    fn schema_error(&self) -> Option<&SchemaError> {
        (**self).schema_error()
    }
    fn annotations(&self) -> ToolAnnotations {
        (**self).annotations()
    }
    fn output_schema(&self) -> Option<&Value> {
        (**self).output_schema()
    }
}

/// The arguments of a tool defined with `#[derive(Tool)]`: the struct is the
/// arguments, its `call` method the body.
pub trait ToolArgs: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static {
    /// The tool's name.
    const NAME: &'static str;
    /// What it does, for the model.
    const DESCRIPTION: &'static str;
    /// Whether the provider enforces the schema.
    const STRICT: bool = true;
    /// Whether calls must not run beside each other.
    const SEQUENTIAL: bool = false;
    /// Runs the call.
    fn run(self, ctx: &ToolContext) -> BoxFuture<'_, ToolResult>;
}

/// The [`Tool`] of a `#[derive(Tool)]` struct: `Add::tool()`, or
/// `ArgsTool::<Add>::new()`.
pub struct ArgsTool<A: ToolArgs> {
    built: &'static generated::BuiltDef,
    _args: std::marker::PhantomData<fn() -> A>,
}

impl<A: ToolArgs> ArgsTool<A> {
    /// The tool.
    pub fn new() -> Self {
        Self {
            built: generated::built_for::<A>(),
            _args: std::marker::PhantomData,
        }
    }
}

impl<A: ToolArgs> Default for ArgsTool<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: ToolArgs> std::fmt::Debug for ArgsTool<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArgsTool({})", A::NAME)
    }
}

impl<A: ToolArgs> Tool for ArgsTool<A> {
    fn def(&self) -> &ToolDef {
        &self.built.def
    }
    fn call<'a>(&'a self, args: Value, ctx: &'a ToolContext) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let args: A = generated::decode_args(A::NAME, self.built, args)?;
            args.run(ctx).await
        })
    }
    fn sequential(&self) -> bool {
        A::SEQUENTIAL
    }
    fn schema_error(&self) -> Option<&SchemaError> {
        self.built.error.as_ref()
    }
}

/// What a tool's parameter type must be: `Deserialize + JsonSchema` (implemented
/// for every such type). `#[tool]` checks it, so a wrong type gets this trait's
/// message, naming the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool argument: it must implement `serde::Deserialize` and `schemars::JsonSchema`",
    label = "this parameter's type is not `Deserialize + JsonSchema`",
    note = "derive both on it: `#[derive(serde::Deserialize, schemars::JsonSchema)]`"
)]
pub trait ToolArgument {
    /// Named by generated code: the check is all it costs.
    #[doc(hidden)]
    const IT_IS: () = ();
}
#[diagnostic::do_not_recommend]
impl<T: serde::de::DeserializeOwned + schemars::JsonSchema> ToolArgument for T {}

/// What a tool may return: anything `Serialize` (implemented for every such
/// type). `#[tool]` converts the return value through it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a tool: it must implement `serde::Serialize`",
    label = "this return type is not `Serialize`",
    note = "derive it: `#[derive(serde::Serialize)]`, or return a `String`"
)]
pub trait ToolOutput {
    /// The value as a tool result: strings as text, `()` as `ok`, `None` as
    /// `null`, anything else as JSON (a `Result` reached through an alias: its
    /// `Err` as an error).
    ///
    /// # Errors
    /// [`ToolError::Failed`] when serialization fails.
    fn into_tool_value(self, tool: &str) -> ToolResult;
}
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize> ToolOutput for T {
    fn into_tool_value(self, tool: &str) -> ToolResult {
        generated::to_value(tool, self)
    }
}

/// What the `E` of a tool's `Result<T, E>` must be: `Display` (implemented for
/// every such type), because the model reads the error's text. An `Err` is never
/// sent to the model as a success.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's error type: it must implement `std::fmt::Display`",
    label = "the `E` of this `Result` is not `Display`",
    note = "the model reads the error's text, so implement `Display` for it (or use `String` or `anyhow::Error`); \
            typecall never sends an `Err` to the model as a success, so deriving `Serialize` does not help"
)]
pub trait ToolErrorMessage {
    /// The error as a failed call the model reads.
    ///
    /// # Errors
    /// Always: [`ToolError::Failed`] with the error's text.
    fn into_tool_error(self, tool: &str) -> ToolResult;
}
#[diagnostic::do_not_recommend]
impl<E: std::fmt::Display> ToolErrorMessage for E {
    fn into_tool_error(self, tool: &str) -> ToolResult {
        Err(ToolError::Failed {
            tool: tool.to_owned(),
            message: self.to_string(),
        })
    }
}

/// A set of tools: what `#[tools]` on an `impl` block implements for its type
/// (and for an `Arc` of it, to keep a handle on the shared value).
pub trait ToolSet {
    /// The tools.
    fn into_tools(self) -> Vec<Arc<dyn Tool>>;
}

/// The methods of a `#[tools]` impl block as tools sharing one `Arc` of the
/// value. Generated; use it through [`ToolSet`].
pub trait SharedTools: Send + Sync + 'static {
    /// The tools, each holding `this`.
    fn shared_tools(this: Arc<Self>) -> Vec<Arc<dyn Tool>>;
}

impl<T: SharedTools> ToolSet for Arc<T> {
    fn into_tools(self) -> Vec<Arc<dyn Tool>> {
        T::shared_tools(self)
    }
}

/// Support for the code `#[tool]`, `#[tools]` and `#[derive(Tool)]` generate
/// (re-exported for it as `typecall::__private::tool`).
pub(crate) mod generated {
    use std::future::Future;
    use std::sync::OnceLock;

    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::{ToolDef, ToolError, ToolResult, ToolValue};
    use crate::schema::{Dialect, Schema, SchemaError};

    /// A tool's definition and argument schema, built once.
    #[derive(Debug)]
    pub struct BuiltDef {
        /// The definition.
        pub def: ToolDef,
        /// The argument schema (full, for validation).
        pub schema: Option<Schema>,
        /// Why a strict schema could not be built.
        pub error: Option<SchemaError>,
    }

    /// Builds a tool's definition: a Strict schema when `strict`, plain JSON
    /// Schema otherwise.
    pub fn build_def<A: schemars::JsonSchema>(
        name: &str,
        description: &str,
        strict: bool,
    ) -> BuiltDef {
        let dialect = if strict {
            Dialect::Strict
        } else {
            Dialect::JsonSchema
        };
        match Schema::of::<A>(dialect) {
            Ok(schema) => {
                let mut def = ToolDef::from_schema(name, description, &schema);
                strip_title(&mut def.parameters);
                BuiltDef {
                    def,
                    schema: Some(schema),
                    error: None,
                }
            }
            Err(error) => BuiltDef {
                def: ToolDef::new(name, description, serde_json::json!({"type": "object"})),
                schema: None,
                error: Some(error),
            },
        }
    }

    /// The arguments' type name and doc are noise here: the tool's own name and
    /// description say it.
    fn strip_title(v: &mut Value) {
        if let Some(o) = v.as_object_mut() {
            o.shift_remove("title");
            o.shift_remove("description");
        }
    }

    /// Why a tool whose schema could not be built cannot be called.
    fn unbuilt(tool: &str, built: &BuiltDef) -> ToolError {
        ToolError::Failed {
            tool: tool.to_owned(),
            message: built
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    /// Decodes arguments: undo lowering, validate against the full schema, deserialize.
    ///
    /// # Errors
    /// [`ToolError::InvalidArguments`] with every issue.
    pub fn decode_args<A: DeserializeOwned>(
        tool: &str,
        built: &BuiltDef,
        args: Value,
    ) -> Result<A, ToolError> {
        let Some(schema) = &built.schema else {
            return Err(unbuilt(tool, built));
        };
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        schema
            .decode::<A>(args)
            .map_err(|e| ToolError::invalid_arguments(tool, e))
    }

    /// A `#[tool]`'s argument struct, for the autoref dispatch of
    /// [`ArgsOf`] / [`ArgsUnchecked`]: the generated code calls
    /// `(&Args::<A>::NEW).build_def(…)`, which is [`build_def`] when `A` is
    /// `DeserializeOwned + JsonSchema`. When it is not, a parameter type lacks
    /// them and the macro's `ToolArgument` check has already stopped the build
    /// with typecall's message; the fallback only keeps rustc from adding its
    /// own errors about the hidden struct.
    #[derive(Debug)]
    pub struct Args<A>(std::marker::PhantomData<fn() -> A>);
    impl<A> Args<A> {
        /// The probe.
        pub const NEW: Self = Self(std::marker::PhantomData);
    }
    /// The argument struct is `DeserializeOwned + JsonSchema`.
    pub trait ArgsOf<A> {
        /// [`build_def`].
        fn build_def(&self, name: &str, description: &str, strict: bool) -> BuiltDef;
        /// [`decode_args`].
        ///
        /// # Errors
        /// As [`decode_args`].
        fn decode(&self, tool: &str, built: &BuiltDef, args: Value) -> Result<A, ToolError>;
    }
    impl<A: DeserializeOwned + schemars::JsonSchema> ArgsOf<A> for Args<A> {
        fn build_def(&self, name: &str, description: &str, strict: bool) -> BuiltDef {
            build_def::<A>(name, description, strict)
        }
        fn decode(&self, tool: &str, built: &BuiltDef, args: Value) -> Result<A, ToolError> {
            decode_args(tool, built, args)
        }
    }
    /// The argument struct is not: never part of a program that compiles.
    pub trait ArgsUnchecked<A> {
        /// A definition that says why it has no schema.
        fn build_def(&self, name: &str, description: &str, _strict: bool) -> BuiltDef {
            BuiltDef {
                def: ToolDef::new(name, description, serde_json::json!({"type": "object"})),
                schema: None,
                error: Some(SchemaError::Invalid {
                    type_name: name.to_owned(),
                    message: "a parameter type is not `Deserialize + JsonSchema`".to_owned(),
                }),
            }
        }
        /// Refuses every call.
        ///
        /// # Errors
        /// Always [`ToolError::Failed`].
        fn decode(&self, tool: &str, built: &BuiltDef, _args: Value) -> Result<A, ToolError> {
            Err(unbuilt(tool, built))
        }
    }
    impl<A> ArgsUnchecked<A> for &Args<A> {}

    /// A tool's success type, for the autoref dispatch of [`OutputOf`] /
    /// [`OutputUnknown`]: `(&Output::<T>::NEW).output_schema()` is
    /// [`output_schema_for`](super::output_schema_for) when `T` is
    /// `JsonSchema`, and `None` otherwise.
    #[derive(Debug)]
    pub struct Output<T: ?Sized>(std::marker::PhantomData<fn() -> Box<T>>);
    impl<T: ?Sized> Output<T> {
        /// The probe.
        pub const NEW: Self = Self(std::marker::PhantomData);
    }
    /// The success type has a schema.
    pub trait OutputOf {
        /// Its output schema.
        fn output_schema(&self) -> Option<Value>;
    }
    impl<T: schemars::JsonSchema + ?Sized> OutputOf for Output<T> {
        fn output_schema(&self) -> Option<Value> {
            super::output_schema_for::<T>()
        }
    }
    /// It has none.
    pub trait OutputUnknown {
        /// No output schema.
        fn output_schema(&self) -> Option<Value> {
            None
        }
    }
    impl<T: ?Sized> OutputUnknown for &Output<T> {}

    /// Runs a sync tool body on the blocking pool.
    ///
    /// # Errors
    /// [`ToolError::Panicked`] when the body panics.
    pub async fn run_blocking<R: Send + 'static>(
        tool: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, ToolError> {
        // The call's reporter goes with it to the blocking thread.
        let reporter = super::Reporter::current();
        tokio::task::spawn_blocking(move || reporter.enter(|| super::panics::marked_blocking(f)))
            .await
            .map_err(|e| ToolError::Panicked {
                tool: tool.to_owned(),
                message: if e.is_panic() {
                    super::toolbox::panic_message(e.into_panic())
                } else {
                    e.to_string()
                },
            })
    }

    /// Wraps a value for the autoref dispatch below.
    #[derive(Debug)]
    pub struct Wrap<T>(pub T);

    /// Tag: the tool body returned a future.
    #[derive(Debug)]
    pub struct FutureTag;
    /// Tag: the tool body returned a value.
    #[derive(Debug)]
    pub struct ValueTag;
    /// Picks [`FutureTag`] for futures.
    pub trait FutureKind {
        /// The tag.
        fn kind(&self) -> FutureTag {
            FutureTag
        }
    }
    impl<F: Future> FutureKind for &Wrap<&F> {}
    /// Picks [`ValueTag`] for anything else.
    pub trait ValueKind {
        /// The tag.
        fn kind(&self) -> ValueTag {
            ValueTag
        }
    }
    impl<T> ValueKind for Wrap<&T> {}
    impl FutureTag {
        /// Awaits it.
        pub async fn resolve<F: Future>(self, f: F) -> F::Output {
            f.await
        }
    }
    impl ValueTag {
        /// Hands it back.
        pub async fn resolve<T>(self, t: T) -> T {
            t
        }
    }

    /// Tag: the tool returned a `Result`.
    #[derive(Debug)]
    pub struct ResultTag;
    /// Tag: the tool returned a plain value.
    #[derive(Debug)]
    pub struct PlainTag;
    /// Picks [`ResultTag`] for every `Result<T, E>`, whatever `E`: an `Err` is
    /// never serialized as a success (a non-`Display` `E` is a compile error).
    pub trait ResultKind {
        /// The tag.
        fn result_kind(&self) -> ResultTag {
            ResultTag
        }
    }
    impl<T, E> ResultKind for &Wrap<&Result<T, E>> {}
    /// Picks [`PlainTag`] for anything else.
    pub trait PlainKind {
        /// The tag.
        fn result_kind(&self) -> PlainTag {
            PlainTag
        }
    }
    impl<T> PlainKind for Wrap<&T> {}
    impl ResultTag {
        /// `Ok` → the value; `Err` → a tool error the model sees.
        pub fn convert<T: super::ToolOutput, E: super::ToolErrorMessage>(
            self,
            tool: &str,
            r: Result<T, E>,
        ) -> ToolResult {
            match r {
                Ok(v) => v.into_tool_value(tool),
                Err(e) => e.into_tool_error(tool),
            }
        }
    }
    impl PlainTag {
        /// The value.
        pub fn convert<T: super::ToolOutput>(self, tool: &str, v: T) -> ToolResult {
            v.into_tool_value(tool)
        }
    }

    /// A serializable value as a tool result: strings as text, `()` as `ok`,
    /// `None` (and anything else that serializes to null) as `null`, anything
    /// else as JSON.
    ///
    /// # Errors
    /// [`ToolError::Failed`] when serialization fails.
    pub fn to_value<T: Serialize>(tool: &str, v: T) -> ToolResult {
        // Content blocks stay blocks (a `ToolContent` is `Serialize` for
        // records, so it arrives here like any value).
        if std::any::type_name::<T>() == std::any::type_name::<super::ToolContent>() {
            return serde_json::to_value(v)
                .and_then(serde_json::from_value)
                .map(ToolValue::Content)
                .map_err(|e| ToolError::Failed {
                    tool: tool.to_owned(),
                    message: format!("the result could not be read as content blocks: {e}"),
                });
        }
        // A `Result` that reached here through an alias: its `Err` is an error.
        let is_result = std::any::type_name::<T>().starts_with("core::result::Result<");
        match serde_json::to_value(v) {
            Ok(Value::Object(mut o)) if is_result && o.len() == 1 => {
                if let Some(e) = o.remove("Err") {
                    return Err(ToolError::Failed {
                        tool: tool.to_owned(),
                        message: match e {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    });
                }
                match o.remove("Ok") {
                    Some(Value::Null) => Ok(ToolValue::Text("ok".into())),
                    Some(ok) => to_value(tool, ok),
                    None => Ok(ToolValue::Json(Value::Object(o))),
                }
            }
            Ok(Value::String(s)) => Ok(ToolValue::Text(s)),
            Ok(Value::Null) if std::any::type_name::<T>() == "()" => {
                Ok(ToolValue::Text("ok".into()))
            }
            Ok(v) => Ok(ToolValue::Json(v)),
            Err(e) => Err(ToolError::Failed {
                tool: tool.to_owned(),
                message: format!("the result could not be serialized: {e}"),
            }),
        }
    }

    /// A `OnceLock` for generated definitions.
    pub type DefCell = OnceLock<BuiltDef>;

    /// The definition of a `#[derive(Tool)]` type, built once per type.
    pub fn built_for<A: super::ToolArgs>() -> &'static BuiltDef {
        use std::any::TypeId;
        use std::collections::HashMap;
        use std::sync::Mutex;
        static CELLS: OnceLock<Mutex<HashMap<TypeId, &'static BuiltDef>>> = OnceLock::new();
        let cells = CELLS.get_or_init(Default::default);
        let mut map = match cells.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let id = TypeId::of::<A>();
        if let Some(built) = map.get(&id).copied() {
            return built;
        }
        let built: &'static BuiltDef =
            Box::leak(Box::new(build_def::<A>(A::NAME, A::DESCRIPTION, A::STRICT)));
        map.insert(id, built);
        built
    }
}

//! State handed to tools that is not part of their schema: a database handle,
//! an HTTP client, the user's id.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::ToolError;

/// A piece of the run's context, injected into a tool parameter of type
/// `Ctx<S>`. Derefs to `S`.
///
/// ```
/// use typecall::{tool, Ctx};
///
/// struct Db { greeting: String }
///
/// /// Greets a user.
/// #[tool]
/// fn greet(name: String, db: Ctx<Db>) -> String {
///     format!("{}, {name}", db.greeting)
/// }
/// ```
pub struct Ctx<S: ?Sized>(Arc<S>);

impl<S: ?Sized> Ctx<S> {
    /// Wraps shared state.
    pub fn new(state: Arc<S>) -> Self {
        Self(state)
    }
    /// The shared state.
    pub fn into_inner(self) -> Arc<S> {
        self.0
    }
}

impl<S: ?Sized> Deref for Ctx<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: ?Sized> Clone for Ctx<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S: ?Sized> fmt::Debug for Ctx<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ctx<{}>", type_name::<S>())
    }
}

/// The context of a run: values by type. Tools ask for them with `Ctx<S>` (or
/// `&S`) parameters.
#[derive(Clone, Default)]
pub struct ToolContext {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    names: Vec<&'static str>,
    call_id: Option<String>,
}

impl fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolContext")
            .field("types", &self.names)
            .field("call_id", &self.call_id)
            .finish()
    }
}

impl ToolContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a value; tools get it by its type.
    pub fn insert<S: Send + Sync + 'static>(&mut self, value: S) {
        self.insert_arc(Arc::new(value));
    }

    /// Adds (or replaces) a shared value.
    pub fn insert_arc<S: Send + Sync + 'static>(&mut self, value: Arc<S>) {
        if self.values.insert(TypeId::of::<S>(), value).is_none() {
            self.names.push(type_name::<S>());
        }
    }

    /// The id of the call being run, when an agent runs it (unique in the
    /// run's conversation; stable across a durable run's retries).
    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }

    /// This context for the call `id`.
    pub(crate) fn for_call(&self, id: &str) -> Self {
        Self {
            call_id: Some(id.to_owned()),
            ..self.clone()
        }
    }

    /// The value of type `S`.
    ///
    /// # Errors
    /// [`ToolError::MissingContext`] naming the type, for `tool`.
    pub fn get<S: Send + Sync + 'static>(&self, tool: &str) -> Result<Ctx<S>, ToolError> {
        self.values
            .get(&TypeId::of::<S>())
            .and_then(|v| v.clone().downcast::<S>().ok())
            .map(Ctx)
            .ok_or_else(|| ToolError::MissingContext {
                tool: tool.to_owned(),
                type_name: type_name::<S>().to_owned(),
            })
    }
}

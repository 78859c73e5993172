//! Rust types → provider-ready JSON Schema, and validation of returned JSON.
//!
//! ```
//! use typecall::schema::{schema_for, Dialect};
//!
//! /// A fruit verdict.
//! #[derive(schemars::JsonSchema, serde::Deserialize)]
//! struct Fruit {
//!     /// Whether it is a fruit.
//!     is_fruit: bool,
//!     /// How sure the model is, 0 to 100.
//!     confidence: Option<u8>,
//! }
//!
//! let s = schema_for::<Fruit>(Dialect::Strict)?;
//! // What is sent: every property required, the optional one nullable.
//! assert_eq!(s.as_json()["required"], serde_json::json!(["is_fruit", "confidence"]));
//! // What is checked: the full schema, bounds included.
//! let err = s.validate(&serde_json::json!({"is_fruit": true, "confidence": 300})).unwrap_err();
//! assert_eq!(err.issues()[0].pointer, "/confidence");
//! let fruit: Fruit = s.decode(serde_json::json!({"is_fruit": true, "confidence": null}))?;
//! assert!(fruit.is_fruit && fruit.confidence.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dialect;
mod gemini;
mod lower;
mod part;
mod refs;
mod unlower;
mod validate;

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use dialect::escape_pointer;
pub use dialect::{Dialect, DialectViolations, StrictRules, Violation};
pub use gemini::to_gemini;
pub(crate) use refs::is_data_keyword;
pub use validate::{ValidationErrors, ValidationIssue};

/// A schema built for one [`Dialect`]: the lowered schema to send, and the full
/// schema to validate against.
///
/// Get one with [`schema_for`] (cached per type and dialect) or
/// [`Schema::from_json`] (for a schema written by hand).
pub struct Schema {
    name: String,
    dialect: Dialect,
    full: Value,
    wire: Value,
    wrapped: bool,
    validator: validate::Validator,
    parts: part::PartValidators,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("name", &self.name)
            .field("dialect", &self.dialect)
            .field("wire", &self.wire)
            .finish_non_exhaustive()
    }
}

impl Schema {
    /// Builds the schema of `T` for `dialect`, without the cache.
    ///
    /// # Errors
    /// [`SchemaError`] when `T` cannot be expressed in the dialect (a recursive
    /// type in [`Dialect::Strict`], a `serde_json::Value` field, …).
    pub fn of<T: schemars::JsonSchema + ?Sized>(dialect: Dialect) -> Result<Self, SchemaError> {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .for_deserialize()
            .into_generator();
        let root = generator.into_root_schema_for::<T>();
        Self::from_json(&T::schema_name(), root.to_value(), dialect)
    }

    /// Builds a schema from a full JSON Schema (2020-12) written by hand.
    ///
    /// # Errors
    /// [`SchemaError`] when `full` is not a valid JSON Schema, or cannot be
    /// lowered into `dialect`.
    pub fn from_json(name: &str, mut full: Value, dialect: Dialect) -> Result<Self, SchemaError> {
        lower::add_integer_bounds(&mut full);
        let validator =
            validate::Validator::compile(&full).map_err(|message| SchemaError::Invalid {
                type_name: name.to_owned(),
                message,
            })?;
        let lowered = lower::lower(&full, dialect, name)?;
        Ok(Self {
            name: name.to_owned(),
            dialect,
            full,
            wire: lowered.wire,
            wrapped: lowered.wrapped,
            validator,
            parts: part::PartValidators::default(),
        })
    }

    /// The schema to send to the provider, in this schema's dialect.
    pub fn as_json(&self) -> &Value {
        &self.wire
    }

    /// The full schema as generated, before lowering: what [`Schema::validate`]
    /// checks against.
    pub fn full(&self) -> &Value {
        &self.full
    }

    /// The name of the type (or of the hand-written schema).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dialect this schema was lowered into.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the root was not an object and is sent wrapped as
    /// `{"value": …}` (strict dialects need an object root). [`Schema::from_wire`]
    /// unwraps it.
    pub fn is_wrapped(&self) -> bool {
        self.wrapped
    }

    /// Checks `value` against the FULL schema, before any lowering: constraints
    /// the dialect could not send (patterns, lengths, ranges, …) are enforced here.
    ///
    /// # Errors
    /// Every issue, each with its JSON pointer and a message a model can act on.
    pub fn validate(&self, value: &Value) -> Result<(), ValidationErrors> {
        self.validator.validate(value)
    }

    /// What is wrong inside one part of a value as sent (at `pointer`, e.g. a
    /// list element that has just closed in a stream), checked against that
    /// part's schema alone, with pointers into the full value. `None` where the
    /// pointer alone does not tell the part's schema (inside a map sent as an
    /// entry list, or a union of several shapes).
    pub(crate) fn part_issues(&self, pointer: &str, value: &Value) -> Option<Vec<ValidationIssue>> {
        self.parts.issues(self, pointer, value)
    }

    /// Turns a value shaped by the lowered schema (what a provider returns) back
    /// into the shape of the full schema: unwraps a wrapped root, drops `null`s of
    /// optional fields that do not accept `null` (so their serde default applies),
    /// and turns `{key, value}` entry lists back into maps.
    pub fn from_wire(&self, value: Value) -> Value {
        if self.dialect.is_strict() {
            unlower::unlower(&self.full, value, self.wrapped)
        } else {
            value
        }
    }

    /// Turns a value of the full schema's shape into what the lowered schema
    /// expects (wraps a non-object root). The inverse of [`Schema::from_wire`]
    /// for wrapping; maps are sent as they are.
    pub fn to_wire(&self, value: Value) -> Value {
        if self.wrapped {
            serde_json::json!({ lower::WRAPPER_KEY: value })
        } else {
            value
        }
    }

    /// [`from_wire`](Schema::from_wire), then [`validate`](Schema::validate), then
    /// deserialize into `T`.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] with every validation issue, or
    /// [`DecodeError::Deserialize`] when serde refuses the value.
    pub fn decode<T: DeserializeOwned>(&self, wire: Value) -> Result<T, DecodeError> {
        let value = self.from_wire(wire);
        self.validate(&value).map_err(DecodeError::Invalid)?;
        serde_json::from_value(value).map_err(|e| DecodeError::Deserialize(e.to_string()))
    }
}

/// Why a value could not be decoded into its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value breaks the schema.
    #[error(transparent)]
    Invalid(ValidationErrors),
    /// The value matches the schema but serde refused it (a custom `Deserialize`).
    #[error("the value matches the schema but could not be deserialized: {0}")]
    Deserialize(String),
}

/// A type that cannot be given a schema in the requested dialect. Raised when
/// the schema is built, never as a provider error at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The type refers to itself, which the dialect does not accept.
    #[error(
        "type `{type_name}` is recursive ({path}), and this dialect does not accept recursive \
         schemas: bound the depth with distinct types (e.g. `children: Vec<Leaf>`), store the \
         nested value as a JSON string, or use Dialect::OpenAiStrict / Dialect::JsonSchema"
    )]
    Recursive {
        /// The type the schema was built for.
        type_name: String,
        /// The fields that lead back to a type already being defined.
        path: String,
    },
    /// One field cannot be expressed in the dialect.
    #[error("type `{type_name}`: field `{field}` {reason}: {hint}")]
    Unrepresentable {
        /// The type the schema was built for.
        type_name: String,
        /// The path of the field (`Type.field[].inner`).
        field: String,
        /// What the field is.
        reason: String,
        /// What to write instead.
        hint: String,
    },
    /// The lowered schema still breaks a rule of the dialect (too large, too many
    /// `anyOf` branches, …).
    #[error("type `{type_name}`: {violations}")]
    Violations {
        /// The type the schema was built for.
        type_name: String,
        /// Every rule broken.
        violations: DialectViolations,
    },
    /// The schema is not valid JSON Schema.
    #[error("the schema of `{type_name}` is not valid JSON Schema: {message}")]
    Invalid {
        /// The type the schema was built for.
        type_name: String,
        /// What the JSON Schema validator said.
        message: String,
    },
}

type CacheEntry = Result<&'static Schema, SchemaError>;

fn cache() -> &'static RwLock<HashMap<(TypeId, Dialect), CacheEntry>> {
    static CACHE: OnceLock<RwLock<HashMap<(TypeId, Dialect), CacheEntry>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The schema of `T` in `dialect`. The first call builds it; later calls (from
/// any thread) are a map lookup. Each schema lives for the rest of the program.
///
/// ```
/// use typecall::schema::{Dialect, schema_for};
///
/// /// A point.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Point {
///     x: i32,
///     /// A label, if any.
///     label: Option<String>,
/// }
///
/// let strict = schema_for::<Point>(Dialect::Strict).unwrap();
/// // What Cerebras and OpenAI accept in strict mode: every property required,
/// // an optional one nullable, no others allowed.
/// assert_eq!(strict.as_json()["required"], serde_json::json!(["x", "label"]));
/// assert_eq!(strict.as_json()["additionalProperties"], false);
/// let p: Point = strict.decode(serde_json::json!({"x": 1, "label": null})).unwrap();
/// assert_eq!(p.x, 1);
/// ```
///
/// # Errors
/// [`SchemaError`] when `T` cannot be expressed in `dialect`; the error is cached
/// too.
pub fn schema_for<T: schemars::JsonSchema + ?Sized + 'static>(
    dialect: Dialect,
) -> Result<&'static Schema, SchemaError> {
    let key = (TypeId::of::<T>(), dialect);
    if let Ok(map) = cache().read()
        && let Some(hit) = map.get(&key)
    {
        return hit.clone();
    }
    let built: CacheEntry = Schema::of::<T>(dialect).map(|s| &*Box::leak(Box::new(s)));
    match cache().write() {
        Ok(mut map) => map.entry(key).or_insert(built).clone(),
        Err(_) => built,
    }
}

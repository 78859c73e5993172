//! Typed partial values: what has arrived of a streamed `T`, with `T`'s own
//! field names and types. `#[derive(typecall::Partial)]` on a struct makes its
//! shadow (every field an `Option`; a list holds the items that are complete),
//! and [`ExtractEvent::partial`](super::ExtractEvent::partial) reads each
//! partial value as it.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A type whose streamed partial values can be read with its own field names
/// and types. Derive it on a struct with `#[derive(typecall::Partial)]` (next
/// to `Deserialize` and `JsonSchema`); lists (`Vec<T>`) have it already.
///
/// ```
/// use typecall::output::Partial;
///
/// /// A ticket.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema, typecall::Partial)]
/// struct Ticket {
///     title: String,
///     steps: Vec<Step>,
///     assignee: Option<String>,
/// }
///
/// /// A step.
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct Step {
///     action: String,
///     minutes: u16,
/// }
///
/// // Half an answer: the title so far, one step complete, one still open.
/// let so_far = serde_json::json!({"title": "Printer jam", "steps": [
///     {"action": "Clear the tray", "minutes": 5}, {"action": "Rest"}]});
/// let p: TicketPartial = Ticket::partial(&so_far);
/// assert_eq!(p.title.as_deref(), Some("Printer jam"));
/// assert_eq!(p.steps.as_ref().map(Vec::len), Some(1)); // only the complete step
/// assert!(p.assignee.is_none()); // not there yet
/// ```
pub trait Partial {
    /// The partial shape (`TicketPartial` for `Ticket`).
    type Shape: std::fmt::Debug + Default + Send + 'static;
    /// Reads what has arrived. `value` is in the full shape, as
    /// [`ExtractEvent::Partial`](super::ExtractEvent::Partial) holds it; a
    /// field that is absent or not complete enough to be a value of its type
    /// (an enum whose text is still arriving, a number cut short) is `None`.
    fn partial(value: &Value) -> Self::Shape;
}

impl<T: DeserializeOwned + std::fmt::Debug + Send + 'static> Partial for Vec<T> {
    type Shape = Vec<T>;
    fn partial(value: &Value) -> Vec<T> {
        items(value)
    }
}

/// The items of a list that read as `T` (the complete ones), in order.
fn items<T: DeserializeOwned>(value: &Value) -> Vec<T> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| T::deserialize(v).ok())
        .collect()
}

/// What `#[derive(Partial)]` calls (re-exported for it as
/// `typecall::__private::partial`).
pub(crate) mod generated {
    use super::*;

    /// A field of type `F`.
    pub fn field<F: DeserializeOwned>(v: &Value, key: &str) -> Option<F> {
        v.get(key).and_then(|f| F::deserialize(f).ok())
    }

    /// A field of type `Option<F>` (`null` is `None`).
    pub fn option<F: DeserializeOwned>(v: &Value, key: &str) -> Option<F> {
        v.get(key)
            .filter(|f| !f.is_null())
            .and_then(|f| F::deserialize(f).ok())
    }

    /// A field of type `Vec<F>`: its complete items.
    pub fn list<F: DeserializeOwned>(v: &Value, key: &str) -> Option<Vec<F>> {
        v.get(key).map(items)
    }
}

//! Editing JSON that providers build or receive without indexing (which
//! panics on a value that is not an object): a field is set only on an object.

use serde_json::{Map, Value};

/// Sets `target[key] = value` when `target` is an object; otherwise nothing.
pub(crate) fn set(target: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(o) = target.as_object_mut() {
        o.insert(key.to_owned(), value.into());
    }
}

/// The object at `target[key]`, made one if it is absent or not an object;
/// `None` when `target` itself is not an object.
pub(crate) fn object_at<'a>(
    target: &'a mut Value,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = target
        .as_object_mut()?
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

//! One settled part of a streamed value, checked against its part of the full
//! schema: the work is proportional to the part, not to the whole value, so a
//! streamed extraction stays linear in the answer's length.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::lower::WRAPPER_KEY;
use super::unlower::{resolve, unlower_part};
use super::validate::{ValidationIssue, Validator};
use super::{Schema, escape_pointer};

/// Validators for the parts of one schema, compiled once per schema location
/// (every element of a list shares its item's validator) and kept with the
/// schema, so streams after the first compile nothing.
#[derive(Default)]
pub(crate) struct PartValidators {
    by_location: RwLock<HashMap<String, Option<Arc<Validator>>>>,
}

/// The schema of the part at `pointer` (in the value as sent: a wrapped root is
/// under `/value`): its location in the schema, the node, and the part's pointer
/// in the full value. `None` where the part's schema cannot be told from the
/// pointer alone (maps sent as entry lists, unions of several object shapes).
fn locate<'s>(schema: &'s Schema, pointer: &str) -> Option<(String, &'s Value, String)> {
    let root = schema.full();
    let mut segments: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer
            .strip_prefix('/')?
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    if schema.is_wrapped() {
        if segments.first().map(String::as_str) != Some(WRAPPER_KEY) {
            return None;
        }
        segments.remove(0);
    }
    let mut node = one_shape(root, root)?;
    let mut location = String::new();
    let mut full_pointer = String::new();
    for seg in &segments {
        let obj = node.as_object()?;
        let index = seg.parse::<usize>().ok();
        let next = match (index, obj.get("prefixItems"), obj.get("items")) {
            (Some(i), Some(Value::Array(prefix)), _) if i < prefix.len() => {
                location.push_str(&format!("/prefixItems/{i}"));
                prefix.get(i)
            }
            (Some(_), _, Some(items @ Value::Object(_))) => {
                location.push_str("/items");
                Some(items)
            }
            _ => {
                location.push_str("/properties/");
                location.push_str(&escape_pointer(seg));
                obj.get("properties").and_then(|p| p.get(seg.as_str()))
            }
        }?;
        full_pointer.push('/');
        full_pointer.push_str(&escape_pointer(seg));
        node = one_shape(next, root)?;
    }
    Some((location, node, full_pointer))
}

/// `node` with its `$ref`s followed and an optional (`anyOf [X, null]`) opened:
/// the one non-null shape it allows, or `None` when it allows several.
fn one_shape<'s>(node: &'s Value, root: &'s Value) -> Option<&'s Value> {
    let mut node = resolve(node, root);
    for _ in 0..8 {
        let Some(branches) = ["anyOf", "oneOf"]
            .iter()
            .find_map(|k| node.get(*k).and_then(Value::as_array))
        else {
            return Some(node);
        };
        let mut non_null = branches
            .iter()
            .map(|b| resolve(b, root))
            .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"));
        let only = non_null.next()?;
        if non_null.next().is_some() {
            return None;
        }
        node = only;
    }
    None
}

impl PartValidators {
    /// What is wrong inside the settled part at `pointer` (as sent) whose value
    /// (as sent) is `value`, with pointers into the full value; `None` when its
    /// schema cannot be located (see `locate`).
    pub(crate) fn issues(
        &self,
        schema: &Schema,
        pointer: &str,
        value: &Value,
    ) -> Option<Vec<ValidationIssue>> {
        if schema.is_wrapped() && pointer.is_empty() {
            return self.issues(schema, "/value", value.get(WRAPPER_KEY)?);
        }
        let (location, node, full_pointer) = locate(schema, pointer)?;
        let known = self
            .by_location
            .read()
            .ok()
            .and_then(|m| m.get(&location).cloned());
        let validator = match known {
            Some(v) => v?,
            None => {
                let compiled = Validator::compile(&sub_root(schema.full(), node))
                    .ok()
                    .map(Arc::new);
                if let Ok(mut m) = self.by_location.write() {
                    m.insert(location, compiled.clone());
                }
                compiled?
            }
        };
        let value = if schema.dialect().is_strict() {
            unlower_part(schema.full(), node, value.clone())
        } else {
            value.clone()
        };
        Some(match validator.validate(&value) {
            Ok(()) => Vec::new(),
            Err(e) => e
                .issues()
                .iter()
                .map(|i| ValidationIssue {
                    pointer: format!("{full_pointer}{}", i.pointer),
                    message: i.message.clone(),
                })
                .collect(),
        })
    }
}

/// A schema for `node` alone that still resolves the root's `$ref`s.
fn sub_root(root: &Value, node: &Value) -> Value {
    let mut out: Map<String, Value> = node.as_object().cloned().unwrap_or_default();
    for defs in ["$defs", "definitions"] {
        if let Some(d) = root.get(defs)
            && !out.contains_key(defs)
        {
            out.insert(defs.to_owned(), d.clone());
        }
    }
    if let Some(s) = root.get("$schema") {
        out.entry("$schema").or_insert_with(|| s.clone());
    }
    Value::Object(out)
}

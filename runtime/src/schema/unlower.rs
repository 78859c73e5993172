//! Lowering undone on a value that came back from a provider: a wrapped root
//! unwrapped, `null` for an optional field made absent again, lists of
//! `{key, value}` entries made maps; and `$ref` resolution.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::lower::WRAPPER_KEY;

/// The most `$ref` hops followed when resolving (a guard against bad schemas).
const MAX_REF_HOPS: usize = 64;

/// Undoes lowering on a value that came back from the provider: unwraps a wrapped
/// root, turns `null` back into an absent field where the field was optional and
/// does not itself accept `null` (so `#[serde(default)]` applies), and turns lists
/// of `{key, value}` entries back into maps.
pub(crate) fn unlower(full: &Value, value: Value, wrapped: bool) -> Value {
    let value = if wrapped {
        match value {
            Value::Object(mut o) if o.len() == 1 && o.contains_key(WRAPPER_KEY) => {
                o.shift_remove(WRAPPER_KEY).unwrap_or(Value::Null)
            }
            other => other,
        }
    } else {
        value
    };
    unlower_node(full, full, value, 0)
}

/// Follows `$ref`s (at most `MAX_REF_HOPS`) from `node` to the schema they name.
pub(crate) fn resolve<'a>(mut node: &'a Value, root: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_HOPS {
        let Some(r) = node.get("$ref").and_then(Value::as_str) else {
            return node;
        };
        let target = if r == "#" {
            Some(root)
        } else {
            r.strip_prefix('#').and_then(|p| root.pointer(p))
        };
        match target {
            Some(t) => node = t,
            None => return node,
        }
    }
    node
}

fn accepts_null(node: &Value, root: &Value, depth: usize) -> bool {
    if depth > MAX_REF_HOPS {
        return false;
    }
    let node = resolve(node, root);
    match node {
        Value::Bool(b) => *b,
        Value::Object(o) => {
            let by_type = match o.get("type") {
                Some(Value::String(t)) => t == "null",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
                None => {
                    !o.contains_key("anyOf")
                        && !o.contains_key("oneOf")
                        && !o.contains_key("enum")
                        && !o.contains_key("const")
                }
                _ => false,
            };
            let by_enum = o
                .get("enum")
                .and_then(Value::as_array)
                .is_some_and(|e| e.iter().any(Value::is_null))
                || o.get("const").is_some_and(Value::is_null);
            let by_branch = ["anyOf", "oneOf"].iter().any(|k| {
                o.get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|bs| bs.iter().any(|b| accepts_null(b, root, depth + 1)))
            });
            by_type || by_enum || by_branch
        }
        _ => false,
    }
}

fn json_type_matches(node: &Map<String, Value>, value: &Value) -> bool {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let fits = |t: &str| t == name || (t == "number" && name == "integer");
    match node.get("type") {
        Some(Value::String(t)) => fits(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(fits),
        None => true,
        _ => false,
    }
}

/// Whether `value` plausibly belongs to `branch` (used to pick an `anyOf` branch).
fn branch_fits(branch: &Value, root: &Value, value: &Value) -> bool {
    let Value::Object(b) = resolve(branch, root) else {
        return true;
    };
    let map_as_entries = b.contains_key("additionalProperties") && value.is_array();
    if !json_type_matches(b, value) && !map_as_entries {
        return false;
    }
    if let Some(Value::Array(values)) = b.get("enum") {
        return values.contains(value);
    }
    if let Some(c) = b.get("const") {
        return c == value;
    }
    if let (Value::Object(v), Some(Value::Object(props))) = (value, b.get("properties")) {
        for (k, item) in v {
            match props.get(k) {
                None if b.get("additionalProperties") == Some(&Value::Bool(false)) => return false,
                Some(p) => {
                    let p = resolve(p, root);
                    let tag_ok = match (p.get("const"), p.get("enum")) {
                        (Some(c), _) => c == item,
                        (None, Some(Value::Array(e))) if e.len() == 1 => e.contains(item),
                        _ => true,
                    };
                    if !tag_ok {
                        return false;
                    }
                }
                None => {}
            }
        }
        if let Some(Value::Array(req)) = b.get("required") {
            return req.iter().filter_map(Value::as_str).all(|r| {
                v.contains_key(r) || accepts_null(props.get(r).unwrap_or(&Value::Null), root, 0)
            });
        }
    }
    true
}

/// [`unlower`] for one part of a value, whose schema is `node` inside `root`.
pub(crate) fn unlower_part(root: &Value, node: &Value, value: Value) -> Value {
    unlower_node(node, root, value, 0)
}

fn unlower_node(node: &Value, root: &Value, value: Value, depth: usize) -> Value {
    if depth > 256 {
        return value;
    }
    let node = resolve(node, root);
    let Value::Object(schema) = node else {
        return value;
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            if let Some(b) = branches.iter().find(|b| branch_fits(b, root, &value)) {
                return unlower_node(b, root, value, depth + 1);
            }
            return value;
        }
    }
    let value = match schema.get("allOf") {
        Some(Value::Array(branches)) => branches
            .iter()
            .fold(value, |v, b| unlower_node(b, root, v, depth + 1)),
        _ => value,
    };
    match value {
        Value::Object(map) => {
            let Some(Value::Object(props)) = schema.get("properties") else {
                if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
                    return Value::Object(
                        map.into_iter()
                            .map(|(k, v)| (k, unlower_node(values, root, v, depth + 1)))
                            .collect(),
                    );
                }
                return Value::Object(map);
            };
            let required: BTreeSet<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            for (k, v) in map {
                match props.get(&k) {
                    Some(p) => {
                        if v.is_null()
                            && !required.contains(k.as_str())
                            && !accepts_null(p, root, 0)
                        {
                            continue;
                        }
                        out.insert(k, unlower_node(p, root, v, depth + 1));
                    }
                    None => {
                        out.insert(k, v);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let is_map = schema.get("type").and_then(Value::as_str) == Some("object")
                || matches!(schema.get("additionalProperties"), Some(Value::Object(_)));
            if is_map {
                let values = schema
                    .get("additionalProperties")
                    .unwrap_or(&Value::Bool(true));
                return entries_to_map(items, values, root, depth);
            }
            if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
                return Value::Array(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| match prefix.get(i) {
                            Some(p) => unlower_node(p, root, v, depth + 1),
                            None => v,
                        })
                        .collect(),
                );
            }
            match schema.get("items") {
                Some(item @ Value::Object(_)) => Value::Array(
                    items
                        .into_iter()
                        .map(|v| unlower_node(item, root, v, depth + 1))
                        .collect(),
                ),
                _ => Value::Array(items),
            }
        }
        other => other,
    }
}

fn entries_to_map(items: Vec<Value>, values: &Value, root: &Value, depth: usize) -> Value {
    let mut out = Map::new();
    let mut malformed = Vec::new();
    for item in items {
        match item {
            Value::Object(mut e) if e.len() == 2 && e.get("key").is_some_and(Value::is_string) => {
                let key = match e.shift_remove("key") {
                    Some(Value::String(k)) => k,
                    _ => continue,
                };
                let v = e.shift_remove("value").unwrap_or(Value::Null);
                out.insert(key, unlower_node(values, root, v, depth + 1));
            }
            other => malformed.push(other),
        }
    }
    if malformed.is_empty() {
        Value::Object(out)
    } else {
        // Not entries after all: hand it back untouched so validation reports it.
        let mut all: Vec<Value> = out
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        all.extend(malformed);
        Value::Array(all)
    }
}

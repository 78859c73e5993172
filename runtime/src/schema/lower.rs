//! The transforms from the full schema schemars generates to what a dialect
//! accepts (their inverse on values is [`unlower`](super::unlower)): strict objects, `Option` → nullable,
//! `oneOf` → `anyOf`, dropped keywords written into descriptions, maps as lists of
//! entries, a non-object root wrapped in an object.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::SchemaError;
use super::dialect::{Dialect, StrictRules};
use super::refs::{for_each_ref, is_data_keyword};

/// The property a non-object root is wrapped in for strict dialects.
pub(crate) const WRAPPER_KEY: &str = "value";

/// Number formats whose meaning the numeric bounds already carry.
const NUMERIC_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "int128", "int", "uint8", "uint16", "uint32", "uint64",
    "uint128", "uint", "float", "double",
];

/// Adds the `minimum`/`maximum` implied by an integer `format` (`uint8` →
/// 0..=255, …) where schemars left them out, so that validation rejects a number
/// out of the Rust type's range instead of letting it wrap or fail late.
pub(crate) fn add_integer_bounds(node: &mut Value) {
    match node {
        Value::Object(obj) => {
            let is_integer = match obj.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if is_integer && let Some(format) = obj.get("format").and_then(Value::as_str) {
                let bounds: Option<(Value, Option<Value>)> = match format {
                    "int8" => Some((json!(i8::MIN), Some(json!(i8::MAX)))),
                    "int16" => Some((json!(i16::MIN), Some(json!(i16::MAX)))),
                    "int32" => Some((json!(i32::MIN), Some(json!(i32::MAX)))),
                    "int64" | "int" => Some((json!(i64::MIN), Some(json!(i64::MAX)))),
                    "uint8" => Some((json!(0), Some(json!(u8::MAX)))),
                    "uint16" => Some((json!(0), Some(json!(u16::MAX)))),
                    "uint32" => Some((json!(0), Some(json!(u32::MAX)))),
                    "uint64" | "uint" => Some((json!(0), Some(json!(u64::MAX)))),
                    "uint128" => Some((json!(0), None)),
                    _ => None,
                };
                if let Some((min, max)) = bounds {
                    if !obj.contains_key("minimum") && !obj.contains_key("exclusiveMinimum") {
                        obj.insert("minimum".into(), min);
                    }
                    if let Some(max) = max
                        && !obj.contains_key("maximum")
                        && !obj.contains_key("exclusiveMaximum")
                    {
                        obj.insert("maximum".into(), max);
                    }
                }
            }
            for (k, v) in obj.iter_mut() {
                if !is_data_keyword(k) {
                    add_integer_bounds(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_integer_bounds),
        _ => {}
    }
}

/// The outcome of lowering: what is sent, and whether the root was wrapped.
pub(crate) struct Lowered {
    pub wire: Value,
    pub wrapped: bool,
}

/// Lowers `full` (a root schema as schemars makes it) into `dialect`.
pub(crate) fn lower(
    full: &Value,
    dialect: Dialect,
    type_name: &str,
) -> Result<Lowered, SchemaError> {
    if dialect == Dialect::Gemini {
        return Ok(Lowered {
            wire: super::gemini::to_gemini(full, type_name)?,
            wrapped: false,
        });
    }
    let Some(rules) = dialect.rules() else {
        return Ok(Lowered {
            wire: full.clone(),
            wrapped: false,
        });
    };
    let Value::Object(root) = full else {
        return Err(SchemaError::Unrepresentable {
            type_name: type_name.to_owned(),
            field: type_name.to_owned(),
            reason: "accepts any JSON value".into(),
            hint: "use a concrete Rust type instead of `serde_json::Value`".into(),
        });
    };
    if !rules.allow_recursion
        && let Some(path) = recursion_path(full, type_name)
    {
        return Err(SchemaError::Recursive {
            type_name: type_name.to_owned(),
            path,
        });
    }
    let lowerer = Lowerer {
        rules: &rules,
        type_name,
    };
    let mut body = root.clone();
    let defs = body.shift_remove("$defs");
    let schema_uri = body.shift_remove("$schema");
    // The type's name is noise to a model and a keyword strict servers need not
    // accept: the request names the schema already.
    body.shift_remove("title");
    let wrapped = needs_wrapping(&body);
    let mut out = if wrapped {
        let inner = lowerer.node(&Value::Object(body), type_name)?;
        let mut o = Map::new();
        o.insert("type".into(), "object".into());
        o.insert("properties".into(), json!({ WRAPPER_KEY: inner }));
        o.insert("required".into(), json!([WRAPPER_KEY]));
        o.insert("additionalProperties".into(), false.into());
        o
    } else {
        match lowerer.node(&Value::Object(body), type_name)? {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    };
    if let Some(Value::Object(defs)) = defs {
        let mut lowered = Map::new();
        for (name, def) in &defs {
            lowered.insert(name.clone(), lowerer.node(def, name)?);
        }
        out.insert("$defs".into(), Value::Object(lowered));
    }
    let mut result = Map::new();
    if let Some(s) = schema_uri {
        result.insert("$schema".into(), s);
    }
    result.extend(out);
    let mut wire = Value::Object(result);
    if super::dialect::find_ref_cycle(&wire).is_none() {
        inline_single_use_defs(&mut wire);
    }
    dialect
        .check(&wire)
        .map_err(|violations| SchemaError::Violations {
            type_name: type_name.to_owned(),
            violations,
        })?;
    Ok(Lowered { wire, wrapped })
}

/// Inlines every `$defs` entry referred to exactly once (and drops unused
/// ones), so that only shared subschemas stay behind a `$ref`. Only for
/// schemas without cycles.
fn inline_single_use_defs(wire: &mut Value) {
    loop {
        let Some(Value::Object(defs)) = wire.get("$defs") else {
            return;
        };
        let mut counts: std::collections::HashMap<String, usize> =
            defs.keys().map(|k| (k.clone(), 0)).collect();
        for_each_ref(wire, false, &mut |r| {
            if let Some(n) = r
                .strip_prefix("#/$defs/")
                .and_then(|name| counts.get_mut(name))
            {
                *n += 1;
            }
        });
        let Some((name, uses)) = counts
            .iter()
            .find(|(_, n)| **n <= 1)
            .map(|(k, n)| (k.clone(), *n))
        else {
            return;
        };
        let def = match wire.get_mut("$defs").and_then(Value::as_object_mut) {
            Some(defs) => defs.shift_remove(&name),
            None => return,
        };
        if let (Some(def), 1) = (def, uses) {
            replace_ref(wire, &format!("#/$defs/{name}"), &def);
        }
        if wire
            .get("$defs")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
            && let Some(o) = wire.as_object_mut()
        {
            o.shift_remove("$defs");
        }
    }
}

fn replace_ref(v: &mut Value, target: &str, def: &Value) {
    match v {
        Value::Object(o) => {
            if o.get("$ref").and_then(Value::as_str) == Some(target) {
                let mut inlined = match def {
                    Value::Object(d) => d.clone(),
                    _ => Map::new(),
                };
                // The field's own description is more specific than the type's.
                if let Some(d) = o.get("description") {
                    inlined.insert("description".into(), d.clone());
                }
                *o = inlined;
                return;
            }
            for (k, x) in o.iter_mut() {
                if !is_data_keyword(k) {
                    replace_ref(x, target, def);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_ref(x, target, def)),
        _ => {}
    }
}

fn needs_wrapping(root: &Map<String, Value>) -> bool {
    let is_object = root.get("type").and_then(Value::as_str) == Some("object");
    let composite = ["anyOf", "oneOf", "allOf", "$ref"]
        .iter()
        .any(|k| root.contains_key(*k));
    let map = matches!(
        root.get("additionalProperties"),
        Some(Value::Object(_) | Value::Bool(true))
    );
    !is_object || composite || map
}

struct Lowerer<'a> {
    rules: &'a StrictRules,
    type_name: &'a str,
}

impl Lowerer<'_> {
    fn unrepresentable(&self, field: &str, reason: &str, hint: &str) -> SchemaError {
        SchemaError::Unrepresentable {
            type_name: self.type_name.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
            hint: hint.to_owned(),
        }
    }

    fn node(&self, node: &Value, path: &str) -> Result<Value, SchemaError> {
        let obj = match node {
            Value::Object(obj) => obj,
            Value::Bool(true) => {
                return Err(self.unrepresentable(
                    path,
                    "accepts any JSON value",
                    "use a concrete Rust type instead of `serde_json::Value`, or Dialect::JsonSchema",
                ));
            }
            _ => {
                return Err(self.unrepresentable(
                    path,
                    "accepts no value at all",
                    "remove the field or give it a type",
                ));
            }
        };
        let mut obj = obj.clone();

        // `type: [T, "null"]` → `anyOf: [{type: T, …}, {type: null}]`.
        if let Some(Value::Array(types)) = obj.get("type").cloned() {
            return self.node(&split_type_list(obj, &types), path);
        }
        // `allOf` (serde's `flatten` of a struct): merge the object branches.
        if let Some(all) = obj.shift_remove("allOf") {
            merge_all_of(&mut obj, all).map_err(|reason| {
                self.unrepresentable(path, &reason, "avoid `#[serde(flatten)]` on this field")
            })?;
            return self.node(&Value::Object(obj), path);
        }
        if let Some(one) = obj.shift_remove("oneOf") {
            obj.insert("anyOf".into(), one);
        }
        if let Some(c) = obj.shift_remove("const") {
            obj.insert("enum".into(), Value::Array(vec![c]));
        }

        let mut notes = Vec::new();
        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            if self.rules.unsupported_keywords.contains(&key.as_str())
                && let Some(v) = obj.shift_remove(&key)
            {
                let numeric_format =
                    key == "format" && v.as_str().is_some_and(|f| NUMERIC_FORMATS.contains(&f));
                let null_default = key == "default" && v.is_null();
                if !numeric_format && !null_default {
                    notes.push(describe_keyword(&key, &v));
                }
            }
        }

        if let Some(Value::Array(branches)) = obj.get("anyOf").cloned() {
            let mut lowered = Vec::with_capacity(branches.len());
            for b in &branches {
                lowered.push(self.node(b, path)?);
            }
            obj.insert("anyOf".into(), Value::Array(lowered));
        }

        let is_object = obj.get("type").and_then(Value::as_str) == Some("object")
            || obj.contains_key("properties");
        if is_object {
            let map_values = match obj.get("additionalProperties") {
                Some(v @ Value::Object(_)) => Some(v.clone()),
                Some(Value::Bool(true)) => Some(Value::Bool(true)),
                _ => None,
            };
            let has_props = obj
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty());
            if let Some(values) = map_values {
                if has_props {
                    return Err(self.unrepresentable(
                        path,
                        "mixes named fields with free-form keys (a flattened map)",
                        "put the map in a field of its own",
                    ));
                }
                let value = self.node(&values, &format!("{path}[value]"))?;
                let mut entries = Map::new();
                if let Some(d) = obj.get("description") {
                    entries.insert("description".into(), d.clone());
                }
                entries.insert("type".into(), "array".into());
                entries.insert(
                    "items".into(),
                    json!({
                        "type": "object",
                        "properties": {"key": {"type": "string"}, "value": value},
                        "required": ["key", "value"],
                        "additionalProperties": false
                    }),
                );
                notes.push("a map, given as a list of {key, value} entries".into());
                add_notes(&mut entries, &notes);
                return Ok(Value::Object(entries));
            }
            self.object(&mut obj, path)?;
        }

        if obj.get("type").and_then(Value::as_str) == Some("array") {
            if let Some(Value::Array(prefix)) = obj.get("prefixItems").cloned() {
                let mut lowered = Vec::with_capacity(prefix.len());
                for (i, p) in prefix.iter().enumerate() {
                    lowered.push(self.node(p, &format!("{path}.{i}"))?);
                }
                obj.insert("prefixItems".into(), Value::Array(lowered));
                obj.insert("items".into(), Value::Bool(false));
            } else {
                match obj.get("items").cloned() {
                    Some(items @ Value::Object(_)) => {
                        obj.insert("items".into(), self.node(&items, &format!("{path}[]"))?);
                    }
                    _ => {
                        return Err(self.unrepresentable(
                            path,
                            "is a list of any JSON value",
                            "give the list a concrete item type",
                        ));
                    }
                }
            }
        }
        if let Some(r) = obj.get("$ref").cloned() {
            // Keep a `$ref` next to nothing but its description.
            let mut o = Map::new();
            o.insert("$ref".into(), r);
            if let Some(d) = obj.get("description") {
                o.insert("description".into(), d.clone());
            }
            obj = o;
        }
        add_notes(&mut obj, &notes);
        Ok(Value::Object(obj))
    }

    /// Strict object: `additionalProperties: false`, every property required, the
    /// ones that were optional made nullable.
    fn object(&self, obj: &mut Map<String, Value>, path: &str) -> Result<(), SchemaError> {
        let required: BTreeSet<String> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let props = match obj.shift_remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        let mut lowered = Map::new();
        for (name, prop) in &props {
            let mut p = self.node(prop, &format!("{path}.{name}"))?;
            if !required.contains(name) && !accepts_null_shallow(&p) {
                p = make_nullable(p);
            }
            lowered.insert(name.clone(), p);
        }
        obj.insert("type".into(), "object".into());
        let names: Vec<Value> = lowered.keys().cloned().map(Value::String).collect();
        obj.insert("properties".into(), Value::Object(lowered));
        obj.insert("required".into(), Value::Array(names));
        obj.insert("additionalProperties".into(), Value::Bool(false));
        Ok(())
    }
}

fn split_type_list(mut obj: Map<String, Value>, types: &[Value]) -> Value {
    obj.shift_remove("type");
    let description = obj.shift_remove("description");
    let title = obj.shift_remove("title");
    let mut branches = Vec::new();
    for t in types {
        if t == "null" {
            branches.push(json!({"type": "null"}));
            continue;
        }
        let mut b = obj.clone();
        b.insert("type".into(), t.clone());
        if let Some(Value::Array(values)) = b.get_mut("enum") {
            values.retain(|v| !v.is_null());
        }
        branches.push(Value::Object(b));
    }
    let mut out = Map::new();
    if let Some(t) = title {
        out.insert("title".into(), t);
    }
    if let Some(d) = description {
        out.insert("description".into(), d);
    }
    if branches.len() == 1 {
        if let Some(Value::Object(only)) = branches.pop() {
            out.extend(only);
        }
    } else {
        out.insert("anyOf".into(), Value::Array(branches));
    }
    Value::Object(out)
}

fn merge_all_of(obj: &mut Map<String, Value>, all: Value) -> Result<(), String> {
    let Value::Array(branches) = all else {
        return Err("has an `allOf` that is not a list".into());
    };
    for b in branches {
        let Value::Object(b) = b else {
            return Err("has an `allOf` branch that is not an object schema".into());
        };
        if b.contains_key("$ref") || b.contains_key("anyOf") || b.contains_key("oneOf") {
            return Err("flattens an enum or a referenced type into a struct".into());
        }
        for (k, v) in b {
            match (k.as_str(), obj.get_mut(&k), v) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    mine.extend(theirs)
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => mine.extend(theirs),
                (_, Some(_), _) => {}
                (_, None, v) => {
                    obj.insert(k, v);
                }
            }
        }
    }
    Ok(())
}

fn make_nullable(p: Value) -> Value {
    match p {
        Value::Object(mut o) if o.contains_key("anyOf") => {
            if let Some(Value::Array(branches)) = o.get_mut("anyOf") {
                branches.push(json!({"type": "null"}));
            }
            Value::Object(o)
        }
        Value::Object(mut o) => {
            let description = o.shift_remove("description");
            let mut out = Map::new();
            if let Some(d) = description {
                out.insert("description".into(), d);
            }
            out.insert("anyOf".into(), json!([Value::Object(o), {"type": "null"}]));
            Value::Object(out)
        }
        other => other,
    }
}

fn accepts_null_shallow(p: &Value) -> bool {
    match p {
        Value::Bool(b) => *b,
        Value::Object(o) => {
            o.get("type") == Some(&Value::String("null".into()))
                || o.get("anyOf")
                    .and_then(Value::as_array)
                    .is_some_and(|bs| bs.iter().any(accepts_null_shallow))
        }
        _ => false,
    }
}

fn describe_keyword(key: &str, v: &Value) -> String {
    match v {
        Value::String(s) => format!("{key}: {s}"),
        other => format!("{key}: {other}"),
    }
}

fn add_notes(obj: &mut Map<String, Value>, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    let extra = notes.join("; ");
    let text = match obj.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d} ({extra})"),
        _ => extra,
    };
    obj.insert("description".into(), Value::String(text));
}

/// A human path to the first field that makes `full` recursive, such as
/// `Tree.children[] → Tree`.
fn recursion_path(full: &Value, type_name: &str) -> Option<String> {
    fn walk(
        node: &Value,
        full: &Value,
        segment: String,
        trail: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) -> Option<String> {
        let Value::Object(obj) = node else {
            return None;
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = if r == "#" {
                "#".to_owned()
            } else {
                r.strip_prefix("#/$defs/")?.to_owned()
            };
            let display = if name == "#" {
                stack.first().cloned().unwrap_or_default()
            } else {
                name.clone()
            };
            if stack.contains(&name) || (name == "#") {
                let mut parts = trail.clone();
                parts.push(segment);
                parts.push(display);
                return Some(parts.join(" → "));
            }
            let def = full.pointer(&format!("/$defs/{}", super::dialect::escape_pointer(&name)))?;
            trail.push(segment);
            stack.push(name.clone());
            let found = walk(def, full, name, trail, stack);
            stack.pop();
            trail.pop();
            return found;
        }
        for (k, v) in obj {
            if k == "$defs" || is_data_keyword(k) {
                continue;
            }
            match (k.as_str(), v) {
                ("properties", Value::Object(props)) => {
                    for (name, p) in props {
                        if let Some(f) = walk(p, full, format!("{segment}.{name}"), trail, stack) {
                            return Some(f);
                        }
                    }
                }
                ("items" | "additionalProperties", v) => {
                    let seg = if k == "items" {
                        format!("{segment}[]")
                    } else {
                        format!("{segment}[value]")
                    };
                    if let Some(f) = walk(v, full, seg, trail, stack) {
                        return Some(f);
                    }
                }
                (_, Value::Array(branches)) => {
                    for b in branches {
                        if let Some(f) = walk(b, full, segment.clone(), trail, stack) {
                            return Some(f);
                        }
                    }
                }
                (_, v @ Value::Object(_)) => {
                    if let Some(f) = walk(v, full, segment.clone(), trail, stack) {
                        return Some(f);
                    }
                }
                _ => {}
            }
        }
        None
    }
    let root_name = full
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(type_name)
        .to_owned();
    let mut stack = vec![root_name.clone()];
    // A root that refers to itself is written `$ref: "#"`; treat the root's own
    // name as on the stack for `$defs` entries of the same name.
    walk(full, full, root_name, &mut Vec::new(), &mut stack)
}

#[cfg(test)]
mod inline_tests {
    use super::*;

    #[test]
    fn single_use_definitions_are_inlined() {
        let mut v = json!({"type": "object", "properties": {"a": {"type": "array", "items": {"$ref": "#/$defs/L"}},
            "b": {"$ref": "#/$defs/S"}, "c": {"$ref": "#/$defs/S"}},
            "$defs": {"L": {"type": "string"}, "S": {"type": "integer"}, "Unused": {"type": "null"}}});
        inline_single_use_defs(&mut v);
        assert_eq!(v["properties"]["a"]["items"], json!({"type": "string"}));
        assert_eq!(v["properties"]["b"], json!({"$ref": "#/$defs/S"}));
        assert_eq!(v["$defs"], json!({"S": {"type": "integer"}}));
    }
}

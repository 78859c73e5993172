//! Gemini's schema dialect: the OpenAPI 3.0 subset its `responseSchema` and
//! function `parameters` take. Types are upper case (`OBJECT`, `STRING`, …),
//! `$ref` is not followed (subschemas are inlined), a nullable value says
//! `nullable: true`, `enum` lists only strings, and there is no
//! `additionalProperties`. What Gemini rejects is moved into the description
//! (and still enforced on the client, by [`Schema::validate`](super::Schema::validate)
//! against the full schema).

use serde_json::{Map, Value, json};

use super::SchemaError;

/// How deeply subschemas may nest once `$ref`s are inlined.
const MAX_DEPTH: usize = 32;

/// The keywords Gemini's schema takes, besides `type`, `properties`, `items`,
/// `anyOf`, `enum` and `nullable`, which are converted.
const KEPT: [&str; 13] = [
    "description",
    "title",
    "format",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
];

/// Converts a JSON Schema (2020-12, as schemars writes it, or already in
/// Gemini's dialect) into Gemini's dialect.
///
/// ```
/// use serde_json::json;
/// let schema = json!({
///     "type": "object",
///     "properties": {"n": {"type": ["number", "null"]}},
///     "required": ["n"],
///     "additionalProperties": false
/// });
/// assert_eq!(
///     typecall::schema::to_gemini(&schema, "Args").unwrap(),
///     json!({
///         "type": "OBJECT",
///         "properties": {"n": {"type": "NUMBER", "nullable": true}},
///         "required": ["n"]
///     })
/// );
/// ```
///
/// # Errors
/// [`SchemaError::Recursive`] for a schema that refers to itself (Gemini's
/// schemas cannot), [`SchemaError::Unrepresentable`] for one nested past 32
/// levels.
pub fn to_gemini(schema: &Value, type_name: &str) -> Result<Value, SchemaError> {
    let mut stack = Vec::new();
    convert(schema, schema, type_name, &mut stack, 0)
}

fn convert(
    node: &Value,
    root: &Value,
    type_name: &str,
    refs: &mut Vec<String>,
    depth: usize,
) -> Result<Value, SchemaError> {
    if depth > MAX_DEPTH {
        return Err(SchemaError::Unrepresentable {
            type_name: type_name.to_owned(),
            field: type_name.to_owned(),
            reason: format!("nests deeper than {MAX_DEPTH} levels"),
            hint: "flatten the type".into(),
        });
    }
    let Value::Object(obj) = node else {
        // `true` (anything): the loosest schema Gemini has.
        return Ok(json!({}));
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        if refs.iter().any(|r| r == target) {
            return Err(SchemaError::Recursive {
                type_name: type_name.to_owned(),
                path: format!("{} → {target}", refs.join(" → ")),
            });
        }
        let resolved = target
            .strip_prefix("#/")
            .map(|p| format!("/{p}"))
            .and_then(|p| root.pointer(&p))
            .cloned()
            .unwrap_or_default();
        refs.push(target.to_owned());
        let mut inner = convert(&resolved, root, type_name, refs, depth + 1)?;
        refs.pop();
        // Keywords beside the `$ref` (a description) apply too.
        let mut beside = obj.clone();
        beside.remove("$ref");
        if !beside.is_empty() {
            let extra = convert(&Value::Object(beside), root, type_name, refs, depth + 1)?;
            if let (Some(i), Value::Object(e)) = (inner.as_object_mut(), extra) {
                for (k, v) in e {
                    i.entry(k).or_insert(v);
                }
            }
        }
        return Ok(inner);
    }
    let mut out = Map::new();
    let mut notes = Vec::new();
    let mut nullable = obj.get("nullable") == Some(&Value::Bool(true));
    match obj.get("type") {
        Some(Value::String(t)) => {
            if t == "null" {
                nullable = true;
            } else {
                out.insert("type".into(), t.to_ascii_uppercase().into());
            }
        }
        Some(Value::Array(types)) => {
            let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            nullable |= named.contains(&"null");
            let rest: Vec<&str> = named.into_iter().filter(|t| *t != "null").collect();
            match rest.as_slice() {
                [one] => {
                    out.insert("type".into(), one.to_ascii_uppercase().into());
                }
                [] => {}
                many => {
                    let branches: Vec<Value> = many
                        .iter()
                        .map(|t| json!({"type": t.to_ascii_uppercase()}))
                        .collect();
                    out.insert("anyOf".into(), branches.into());
                }
            }
        }
        _ => {}
    }
    for (key, value) in obj {
        match key.as_str() {
            "type" | "nullable" | "$schema" | "$defs" | "definitions" | "$id" | "$comment" => {}
            // Gemini objects are closed by what they list.
            "additionalProperties" if value == &Value::Bool(false) => {}
            "properties" => {
                let mut props = Map::new();
                for (name, p) in value.as_object().into_iter().flatten() {
                    props.insert(name.clone(), convert(p, root, type_name, refs, depth + 1)?);
                }
                out.insert("properties".into(), Value::Object(props));
            }
            "items" => {
                out.insert(
                    "items".into(),
                    convert(value, root, type_name, refs, depth + 1)?,
                );
            }
            "anyOf" | "oneOf" => {
                let mut branches = Vec::new();
                for b in value.as_array().into_iter().flatten() {
                    if b.get("type").and_then(Value::as_str) == Some("null")
                        && b.as_object().is_some_and(|o| o.len() == 1)
                    {
                        nullable = true;
                        continue;
                    }
                    branches.push(convert(b, root, type_name, refs, depth + 1)?);
                }
                if key == "oneOf" {
                    notes.push("exactly one of the alternatives".to_owned());
                }
                match branches.len() {
                    0 => {}
                    1 => {
                        if let Some(Value::Object(only)) = branches.pop() {
                            for (k, v) in only {
                                out.entry(k).or_insert(v);
                            }
                        }
                    }
                    _ => {
                        out.insert("anyOf".into(), branches.into());
                    }
                }
            }
            "enum" | "const" => {
                let values: Vec<Value> = match value {
                    Value::Array(a) if key == "enum" => a.clone(),
                    other => vec![other.clone()],
                };
                let nulls = values.iter().any(Value::is_null);
                nullable |= nulls;
                let rest: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
                if rest.iter().all(|v| v.is_string()) {
                    out.insert("enum".into(), rest.into_iter().cloned().collect());
                    if !out.contains_key("type") {
                        out.insert("type".into(), "STRING".into());
                    }
                } else {
                    notes.push(describe(key, value));
                }
            }
            k if KEPT.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => notes.push(describe(key, value)),
        }
    }
    if nullable {
        out.insert("nullable".into(), true.into());
    }
    if !notes.is_empty() {
        let text = format!("Must hold: {}.", notes.join("; "));
        let description = match out.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d} ({text})"),
            _ => text,
        };
        out.insert("description".into(), description.into());
    }
    Ok(Value::Object(out))
}

fn describe(key: &str, value: &Value) -> String {
    let mut v = value.to_string();
    if v.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| v.is_char_boundary(i))
            .unwrap_or(0);
        v.truncate(cut);
        v.push('…');
    }
    format!("{key} = {v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_inlined_and_unsupported_keywords_described() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Ticket",
            "type": "object",
            "properties": {
                "priority": {"$ref": "#/$defs/Priority"},
                "steps": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
                "assignee": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "n": {"const": 3}
            },
            "required": ["priority", "steps"],
            "additionalProperties": false,
            "$defs": {"Priority": {"type": "string", "enum": ["Low", "High"], "description": "How urgent"}}
        });
        let g = to_gemini(&schema, "Ticket").unwrap();
        assert_eq!(
            g["properties"]["priority"],
            json!({"type": "STRING", "enum": ["Low", "High"], "description": "How urgent"})
        );
        assert_eq!(
            g["properties"]["steps"]["description"],
            "Must hold: uniqueItems = true."
        );
        assert_eq!(
            g["properties"]["assignee"],
            json!({"type": "STRING", "nullable": true})
        );
        assert_eq!(g["properties"]["n"]["description"], "Must hold: const = 3.");
        assert!(g.get("$defs").is_none() && g.get("additionalProperties").is_none());
        // Converting again changes nothing.
        assert_eq!(to_gemini(&g, "Ticket").unwrap(), g);
    }

    #[test]
    fn a_recursive_schema_is_refused_by_name() {
        let schema = json!({
            "type": "object",
            "properties": {"next": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        });
        assert!(matches!(
            to_gemini(&schema, "Node"),
            Err(SchemaError::Recursive { .. })
        ));
    }
}

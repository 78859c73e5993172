//! Walking a schema's `$ref`s: which keywords hold schemas, and which hold data.

use serde_json::Value;

/// Keywords whose value is data, not a schema: never walked for `$ref`s.
pub(crate) fn is_data_keyword(k: &str) -> bool {
    matches!(k, "enum" | "const" | "default" | "examples" | "required")
}

/// Calls `f` with every `$ref` in `node` (the root's own `$defs` left out when
/// `skip_root_defs`).
pub(crate) fn for_each_ref(node: &Value, skip_root_defs: bool, f: &mut impl FnMut(&str)) {
    match node {
        Value::Object(obj) => {
            for (k, v) in obj {
                if (skip_root_defs && k == "$defs") || is_data_keyword(k) {
                    continue;
                }
                if k == "$ref" {
                    if let Some(r) = v.as_str() {
                        f(r);
                    }
                } else {
                    for_each_ref(v, false, f);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| for_each_ref(v, false, f)),
        _ => {}
    }
}

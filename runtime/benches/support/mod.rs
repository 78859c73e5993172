//! What the benches share: a JSON answer of about a given size (a wrapped list
//! of items), the chunks a stream would bring it in, and recorded exchanges.
#![allow(dead_code)] // each bench uses a part

/// `{"value": [item, …]}` of at least `target` bytes.
pub fn document(target: usize) -> String {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0u64;
    while len < target {
        let item = serde_json::json!({"id": i, "name": format!("item number {i}"), "tags": ["a", "b"], "price": i as f64 * 1.25, "ok": i.is_multiple_of(2)});
        len += item.to_string().len() + 1;
        items.push(item);
        i += 1;
    }
    serde_json::json!({"value": items}).to_string()
}

/// `doc` in chunks of about `size` bytes (about a token each for 16).
pub fn chunks(doc: &str, size: usize) -> Vec<String> {
    let mut v = Vec::new();
    let mut start = 0;
    while start < doc.len() {
        let mut end = (start + size).min(doc.len());
        while !doc.is_char_boundary(end) {
            end += 1;
        }
        v.push(doc[start..end].to_owned());
        start = end;
    }
    v
}

/// The first recorded interaction of `cerebras/<rel>` in the shared recordings
/// (`TYPECALL_RECORDINGS`, else `../shared/recordings`), as JSON.
pub fn recorded(rel: &str) -> Option<serde_json::Value> {
    let dir = std::env::var_os("TYPECALL_RECORDINGS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/recordings")
        });
    let text = std::fs::read_to_string(dir.join("cerebras").join(rel)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.pointer("/interactions/0").cloned()
}

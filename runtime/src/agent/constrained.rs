//! `ToolMode::Constrained`: tool calls asked for as a JSON object that the
//! server enforces while decoding, for models whose native tool calling is
//! unreliable.

use serde_json::{Map, Value, json};

use super::Config;
use crate::chat::ToolCall;
use crate::schema::{Dialect, is_data_keyword};
use crate::tool::ToolDef;

/// The name the final answer goes by in a constrained step.
pub(crate) const FINAL: &str = "final";

/// The schema of one step: `{"next": anyOf[...]}` with one branch per tool
/// (`{"tool": name, "arguments": …}`), or a list of them when calls may run in
/// parallel, and the final answer (`{"final": text or T}`).
pub(crate) fn step_schema(
    defs: &[ToolDef],
    final_schema: Option<&Value>,
    parallel: bool,
    allow_final: bool,
) -> Value {
    let mut hoisted = Map::new();
    let mut branches: Vec<Value> = defs
        .iter()
        .map(|d| {
            let args = hoist(&d.parameters, &d.name, &mut hoisted);
            json!({
                "type": "object",
                "description": d.description,
                "properties": {"tool": {"type": "string", "enum": [d.name]}, "arguments": args},
                "required": ["tool", "arguments"],
                "additionalProperties": false
            })
        })
        .collect();
    if parallel && !branches.is_empty() {
        let items = if branches.len() == 1 {
            branches.remove(0)
        } else {
            json!({"anyOf": branches})
        };
        branches = vec![json!({
            "type": "object",
            "description": "Call these tools (they run at once).",
            "properties": {"calls": {"type": "array", "items": items}},
            "required": ["calls"],
            "additionalProperties": false
        })];
    }
    let final_value = match final_schema {
        Some(s) => hoist(s, "final", &mut hoisted),
        None => json!({"type": "string", "description": "The answer to the user."}),
    };
    if allow_final || branches.is_empty() {
        branches.push(json!({
            "type": "object",
            "description": "The final answer, when no more tools are needed.",
            "properties": {FINAL: final_value},
            "required": [FINAL],
            "additionalProperties": false
        }));
    }
    let mut root = json!({
        "type": "object",
        "properties": {"next": {"anyOf": branches}},
        "required": ["next"],
        "additionalProperties": false
    });
    if !hoisted.is_empty()
        && let Some(o) = root.as_object_mut()
    {
        o.insert("$defs".into(), Value::Object(hoisted));
    }
    root
}

/// Moves a schema's `$defs` into `out` under `prefix__`, rewriting its `$ref`s,
/// and returns the schema without its root keywords.
fn hoist(schema: &Value, prefix: &str, out: &mut Map<String, Value>) -> Value {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.shift_remove("$schema");
        o.shift_remove("title");
        if let Some(Value::Object(defs)) = o.shift_remove("$defs") {
            for (name, def) in defs {
                let mut def = def;
                rename_refs(&mut def, prefix);
                out.insert(format!("{prefix}__{name}"), def);
            }
        }
    }
    rename_refs(&mut s, prefix);
    s
}

fn rename_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/$defs/{prefix}__{name}");
            }
            for (k, x) in o.iter_mut() {
                if !is_data_keyword(k) {
                    rename_refs(x, prefix);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, prefix)),
        _ => {}
    }
}

/// Whether the constrained step for this agent's tools is accepted by strict
/// providers (Cerebras: at most 5 `anyOf` branches, 5,000 characters, …).
pub(crate) fn fits(cfg: &Config) -> bool {
    let schema = step_schema(&cfg.toolbox.defs(), None, cfg.max_parallel_tools > 1, true);
    Dialect::Strict.check(&schema).is_ok()
}

/// What a constrained step asked for.
pub(crate) enum Step {
    Calls(Vec<ToolCall>),
    Final(Value),
}

/// Reads a validated step.
pub(crate) fn read_step(value: &Value, turn: u32) -> Option<Step> {
    let next = value.get("next")?;
    if let Some(f) = next.get(FINAL) {
        return Some(Step::Final(f.clone()));
    }
    let one = |i: usize, c: &Value| -> Option<ToolCall> {
        let name = c.get("tool")?.as_str()?;
        let args = c
            .get("arguments")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        Some(ToolCall::new(
            format!("call_{turn}_{i}"),
            name,
            args.to_string(),
        ))
    };
    if let Some(Value::Array(calls)) = next.get("calls") {
        return Some(Step::Calls(
            calls
                .iter()
                .enumerate()
                .filter_map(|(i, c)| one(i, c))
                .collect(),
        ));
    }
    one(0, next).map(|c| Step::Calls(vec![c]))
}

//! Tool names as providers accept them. Most providers take only
//! `^[a-zA-Z0-9_-]{1,64}$`; a tool named `math.factorial` goes out as
//! `math_factorial` (made unique against the other names) and its calls come
//! back under the tool's own name. Names that are fine go out as they are.

use std::collections::HashMap;

use crate::chat::ToolCall;
use crate::tool::ToolDef;

/// The longest name providers accept.
const MAX_WIRE_NAME: usize = 64;

/// The two-way map between tool names and the names sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireNames {
    to_wire: HashMap<String, String>,
    from_wire: HashMap<String, String>,
}

fn accepted(name: &str) -> bool {
    (1..=MAX_WIRE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn sanitized(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_WIRE_NAME)
        .collect();
    if out.is_empty() {
        out.push_str("tool");
    }
    out
}

impl WireNames {
    /// The map for these tools: only the names a provider would refuse are
    /// mapped.
    pub(crate) fn of(defs: &[ToolDef]) -> Self {
        let mut names = Self::default();
        let mut taken: std::collections::HashSet<String> = defs
            .iter()
            .filter(|d| accepted(&d.name))
            .map(|d| d.name.clone())
            .collect();
        for d in defs.iter().filter(|d| !accepted(&d.name)) {
            let base = sanitized(&d.name);
            let mut wire = base.clone();
            let mut n = 2u32;
            while taken.contains(&wire) {
                let suffix = format!("_{n}");
                let keep = MAX_WIRE_NAME.saturating_sub(suffix.len()).min(base.len());
                wire = format!("{}{suffix}", &base[..keep]);
                n = n.saturating_add(1);
            }
            taken.insert(wire.clone());
            names.to_wire.insert(d.name.clone(), wire.clone());
            names.from_wire.insert(wire, d.name.clone());
        }
        names
    }

    /// The definitions as sent.
    pub(crate) fn defs(&self, defs: &[ToolDef]) -> Vec<ToolDef> {
        defs.iter()
            .map(|d| match self.to_wire.get(&d.name) {
                Some(w) => ToolDef {
                    name: w.clone(),
                    ..d.clone()
                },
                None => d.clone(),
            })
            .collect()
    }

    /// The name a tool is sent as.
    pub(crate) fn wire_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.to_wire.get(name).map_or(name, String::as_str)
    }

    /// The tool's own name for a name as sent (other names stay as they are).
    pub(crate) fn own_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.from_wire.get(name).map_or(name, String::as_str)
    }

    /// A call as sent (its tool's wire name).
    pub(crate) fn wire_call(&self, mut call: ToolCall) -> ToolCall {
        call.name = self.wire_name(&call.name).to_owned();
        call
    }

    /// A call as the model made it, under its tool's own name.
    pub(crate) fn own_call(&self, mut call: ToolCall) -> ToolCall {
        call.name = self.own_name(&call.name).to_owned();
        call
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn def(name: &str) -> ToolDef {
        ToolDef::new(name, "", json!({"type": "object"}))
    }

    #[test]
    fn refused_names_are_mapped_both_ways_and_kept_unique() {
        let defs = [def("math.factorial"), def("math_factorial"), def("ok-name")];
        let names = WireNames::of(&defs);
        let wire: Vec<String> = names.defs(&defs).into_iter().map(|d| d.name).collect();
        assert_eq!(wire, ["math_factorial_2", "math_factorial", "ok-name"]);
        let back = names.own_call(ToolCall::new("1", "math_factorial_2", "{}"));
        assert_eq!(back.name, "math.factorial");
        assert_eq!(names.wire_call(back).name, "math_factorial_2");
        assert_eq!(
            names
                .own_call(ToolCall::new("2", "math_factorial", "{}"))
                .name,
            "math_factorial"
        );
    }

    #[test]
    fn long_and_unicode_names_fit_the_wire() {
        let long = "ü".repeat(100);
        let names = WireNames::of(&[def(&long)]);
        let wire = &names.defs(&[def(&long)])[0].name;
        assert!(accepted(wire), "{wire}");
    }
}

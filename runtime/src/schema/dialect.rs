//! What a provider accepts: the rules of each schema [`Dialect`], and [`Dialect::check`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde_json::{Map, Value};

use super::refs::for_each_ref;

/// The flavour of JSON Schema a provider accepts.
///
/// A [`Schema`](super::Schema) is built for one dialect: the full schema that
/// schemars generates is *lowered* into what the dialect accepts, and whatever had
/// to be dropped on the way is still enforced on the client by
/// [`Schema::validate`](super::Schema::validate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// The structured-outputs subset that Cerebras (and OpenAI) accept with
    /// `strict: true`, with Cerebras's limits: no recursion, `anyOf` with at most
    /// 5 branches, at most 5,000 characters, no `pattern`/`format`/`minItems`/….
    /// The safe choice for any provider with a strict mode.
    Strict,
    /// OpenAI's strict mode: the same shape rules as [`Dialect::Strict`], but
    /// recursion (through `$defs`), `pattern`, `format`, `minItems` and `maxItems`
    /// are accepted and the size limits are larger.
    OpenAiStrict,
    /// Plain JSON Schema 2020-12 as schemars generates it, for providers without
    /// a strict mode (and for `strict: false` tools).
    JsonSchema,
    /// Google Gemini's OpenAPI subset (see [`to_gemini`](super::to_gemini)):
    /// upper-case types, no `$ref`, `nullable`, string enums; what it rejects
    /// goes into descriptions and is enforced by validation.
    Gemini,
}

/// The limits and rules of a strict dialect. [`Dialect::rules`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StrictRules {
    /// Whether a schema may refer to itself through `$defs`.
    pub allow_recursion: bool,
    /// The largest number of branches an `anyOf` may have.
    pub max_any_of: Option<usize>,
    /// The longest the serialized schema may be, in characters.
    pub max_chars: Option<usize>,
    /// How many object properties the whole schema may have.
    pub max_properties: Option<usize>,
    /// How many `enum` values the whole schema may have.
    pub max_enum_values: Option<usize>,
    /// How deeply objects may nest.
    pub max_depth: Option<usize>,
    /// Keywords the provider rejects. Lowering removes them (and writes them into
    /// the description); validation still enforces them.
    pub unsupported_keywords: &'static [&'static str],
}

/// Validation keywords no strict mode accepts (OpenAI's strict mode rejects
/// these; Cerebras rejects them and [`CEREBRAS_ONLY`] too).
const STRICT_UNSUPPORTED: [&str; 29] = [
    "minLength",
    "maxLength",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "then",
    "else",
    "not",
    "allOf",
    "oneOf",
    "nullable",
    "definitions",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
];

/// What Cerebras rejects on top of that (see `CEREBRAS.md`).
const CEREBRAS_ONLY: [&str; 4] = ["pattern", "format", "minItems", "maxItems"];

const CEREBRAS_UNSUPPORTED: [&str; 33] = concat(CEREBRAS_ONLY, STRICT_UNSUPPORTED);

/// Joins two keyword lists at compile time.
#[allow(clippy::indexing_slicing)] // const fn: the bounds are the array lengths
const fn concat<const A: usize, const B: usize, const C: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; C] {
    assert!(A + B == C, "concat: wrong length");
    let mut out = [""; C];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

impl Dialect {
    /// The rules of a strict dialect; `None` for [`Dialect::JsonSchema`], which
    /// accepts any valid JSON Schema.
    pub fn rules(self) -> Option<StrictRules> {
        match self {
            Dialect::Strict => Some(StrictRules {
                allow_recursion: false,
                max_any_of: Some(5),
                max_chars: Some(5_000),
                max_properties: Some(500),
                max_enum_values: Some(500),
                max_depth: Some(10),
                unsupported_keywords: &CEREBRAS_UNSUPPORTED,
            }),
            Dialect::OpenAiStrict => Some(StrictRules {
                allow_recursion: true,
                max_any_of: None,
                max_chars: Some(120_000),
                max_properties: Some(5_000),
                max_enum_values: Some(1_000),
                max_depth: Some(10),
                unsupported_keywords: &STRICT_UNSUPPORTED,
            }),
            Dialect::JsonSchema | Dialect::Gemini => None,
        }
    }

    /// Whether this is a strict dialect (sent with `strict: true`).
    pub fn is_strict(self) -> bool {
        self.rules().is_some()
    }

    /// Checks that `schema` obeys every rule of this dialect.
    ///
    /// # Errors
    /// Every violation found, each with the JSON pointer of the offending
    /// subschema and what is wrong there.
    ///
    /// ```
    /// use typecall::schema::Dialect;
    /// let ok = serde_json::json!({
    ///     "type": "object",
    ///     "properties": {"is_fruit": {"type": "boolean"}},
    ///     "required": ["is_fruit"],
    ///     "additionalProperties": false
    /// });
    /// assert!(Dialect::Strict.check(&ok).is_ok());
    /// let loose = serde_json::json!({"type": "object", "properties": {"a": {"type": "string"}}});
    /// let err = Dialect::Strict.check(&loose).unwrap_err();
    /// assert_eq!(err.violations().len(), 2); // additionalProperties, required
    /// ```
    pub fn check(&self, schema: &Value) -> Result<(), DialectViolations> {
        if *self == Dialect::Gemini {
            // Not JSON Schema: whatever `to_gemini` wrote is what Gemini takes.
            return Ok(());
        }
        let Some(rules) = self.rules() else {
            return check_plain(schema);
        };
        let mut checker = Checker {
            dialect: *self,
            rules: &rules,
            root: schema,
            violations: Vec::new(),
            properties: 0,
            enum_values: 0,
        };
        match schema {
            Value::Object(root) => {
                if root.get("type") != Some(&Value::String("object".into())) {
                    checker.violation("", "the root schema must be `\"type\": \"object\"`");
                }
                checker.node(schema, "", 0);
                if let Some(defs) = root.get("$defs") {
                    match defs {
                        Value::Object(defs) => {
                            for (name, def) in defs {
                                let ptr = format!("/$defs/{}", escape_pointer(name));
                                checker.node(def, &ptr, 0);
                            }
                        }
                        _ => checker.violation("/$defs", "`$defs` must be an object"),
                    }
                }
            }
            _ => checker.violation("", "the root schema must be a JSON object"),
        }
        if let Some(max) = rules.max_chars {
            let len = serde_json::to_string(schema)
                .map(|s| s.chars().count())
                .unwrap_or(0);
            if len > max {
                checker.violation(
                    "",
                    &format!("the schema is {len} characters long; at most {max} are accepted"),
                );
            }
        }
        if let Some(max) = rules.max_properties
            && checker.properties > max
        {
            let n = checker.properties;
            checker.violation(
                "",
                &format!("the schema has {n} object properties; at most {max}"),
            );
        }
        if let Some(max) = rules.max_enum_values
            && checker.enum_values > max
        {
            let n = checker.enum_values;
            checker.violation(
                "",
                &format!("the schema has {n} enum values; at most {max}"),
            );
        }
        if !rules.allow_recursion
            && let Some(cycle) = find_ref_cycle(schema)
        {
            checker.violation(
                "",
                &format!(
                    "recursive schemas are not accepted (cycle: {})",
                    cycle.join(" → ")
                ),
            );
        }
        checker.finish()
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Strict => "Strict",
            Dialect::OpenAiStrict => "OpenAiStrict",
            Dialect::JsonSchema => "JsonSchema",
            Dialect::Gemini => "Gemini",
        })
    }
}

/// One broken rule: where in the schema, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the checked schema (`""` is the root).
    pub pointer: String,
    /// What is wrong, and what the dialect wants instead.
    pub message: String,
}

/// Every rule a schema broke, as found by [`Dialect::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DialectViolations {
    dialect: Dialect,
    violations: Vec<Violation>,
}

impl DialectViolations {
    /// The violations, in the order found.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    /// The dialect that was checked.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

impl fmt::Display for DialectViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the schema breaks {} rule(s) of Dialect::{}:",
            self.violations.len(),
            self.dialect
        )?;
        for v in &self.violations {
            let at = if v.pointer.is_empty() {
                "(root)"
            } else {
                &v.pointer
            };
            write!(f, "\n  at {at}: {}", v.message)?;
        }
        Ok(())
    }
}

fn check_plain(schema: &Value) -> Result<(), DialectViolations> {
    match jsonschema::meta::validate(schema) {
        Ok(()) => Ok(()),
        Err(e) => Err(DialectViolations {
            dialect: Dialect::JsonSchema,
            violations: vec![Violation {
                pointer: e.instance_path().as_str().to_owned(),
                message: format!("not a valid JSON Schema: {e}"),
            }],
        }),
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct Checker<'a> {
    dialect: Dialect,
    rules: &'a StrictRules,
    root: &'a Value,
    violations: Vec<Violation>,
    properties: usize,
    enum_values: usize,
}

impl Checker<'_> {
    fn violation(&mut self, pointer: &str, message: &str) {
        self.violations.push(Violation {
            pointer: pointer.to_owned(),
            message: message.to_owned(),
        });
    }

    fn finish(self) -> Result<(), DialectViolations> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(DialectViolations {
                dialect: self.dialect,
                violations: self.violations,
            })
        }
    }

    /// Checks one subschema; `depth` counts enclosing objects.
    fn node(&mut self, node: &Value, ptr: &str, depth: usize) {
        let obj = match node {
            Value::Object(obj) => obj,
            Value::Bool(_) => {
                self.violation(
                    ptr,
                    "boolean schemas (`true`, any value) are not accepted: give a concrete type",
                );
                return;
            }
            _ => {
                self.violation(ptr, "a schema must be a JSON object");
                return;
            }
        };
        for key in obj.keys() {
            if self.rules.unsupported_keywords.contains(&key.as_str()) {
                let hint = match key.as_str() {
                    "oneOf" => " (use `anyOf`)",
                    "definitions" => " (use `$defs`)",
                    "nullable" => " (use `anyOf` with `{\"type\": \"null\"}`)",
                    _ => "",
                };
                self.violation(ptr, &format!("unsupported keyword `{key}`{hint}"));
            }
        }
        if obj.contains_key("$defs") && !ptr.is_empty() {
            self.violation(ptr, "`$defs` is only accepted at the root");
        }
        match obj.get("type") {
            Some(Value::Array(_)) => self.violation(
                ptr,
                "lists of types are not accepted: use `anyOf` with one branch per type \
                 (nullable: `anyOf: [<schema>, {\"type\": \"null\"}]`)",
            ),
            Some(Value::String(_)) | None => {}
            Some(_) => self.violation(ptr, "`type` must be a string"),
        }
        if let Some(r) = obj.get("$ref") {
            self.check_ref(r, ptr);
        }
        if let Some(e) = obj.get("enum") {
            match e {
                Value::Array(values) => self.enum_values += values.len(),
                _ => self.violation(ptr, "`enum` must be an array"),
            }
        }
        let is_object = obj.get("type").and_then(Value::as_str) == Some("object")
            || obj.contains_key("properties");
        if is_object {
            self.object(obj, ptr, depth + 1);
        }
        if obj.get("type").and_then(Value::as_str) == Some("array") {
            self.array(obj, ptr, depth);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(branches) = obj.get(key) {
                match branches {
                    Value::Array(branches) => {
                        if key == "anyOf"
                            && let Some(max) = self.rules.max_any_of
                            && branches.len() > max
                        {
                            self.violation(
                                ptr,
                                &format!(
                                    "`anyOf` has {} branches; at most {max} are accepted",
                                    branches.len()
                                ),
                            );
                        }
                        for (i, b) in branches.iter().enumerate() {
                            self.node(b, &format!("{ptr}/{key}/{i}"), depth);
                        }
                    }
                    _ => self.violation(ptr, &format!("`{key}` must be an array")),
                }
            }
        }
    }

    fn object(&mut self, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        if let Some(max) = self.rules.max_depth
            && depth > max
        {
            self.violation(
                ptr,
                &format!("objects nest {depth} deep here; at most {max} levels"),
            );
        }
        match obj.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            None => self.violation(ptr, "every object needs `\"additionalProperties\": false`"),
            Some(_) => self.violation(
                ptr,
                "`additionalProperties` must be `false` (maps with free keys are not accepted: \
                 use a list of {key, value} entries)",
            ),
        }
        let empty = Map::new();
        let props = match obj.get("properties") {
            Some(Value::Object(p)) => p,
            Some(_) => {
                self.violation(ptr, "`properties` must be an object");
                &empty
            }
            None => &empty,
        };
        self.properties += props.len();
        let required: BTreeSet<&str> = match obj.get("required") {
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            Some(_) => {
                self.violation(ptr, "`required` must be an array of property names");
                BTreeSet::new()
            }
            None => BTreeSet::new(),
        };
        let missing: Vec<&str> = props
            .keys()
            .map(String::as_str)
            .filter(|k| !required.contains(k))
            .collect();
        if !missing.is_empty() {
            self.violation(
                ptr,
                &format!(
                    "every property must be listed in `required` (missing: {}); an optional \
                     field stays required and becomes nullable",
                    missing.join(", ")
                ),
            );
        }
        for (name, prop) in props {
            self.node(
                prop,
                &format!("{ptr}/properties/{}", escape_pointer(name)),
                depth,
            );
        }
    }

    fn array(&mut self, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        match (obj.get("items"), obj.get("prefixItems")) {
            (Some(Value::Bool(false)), Some(_)) => {}
            (Some(Value::Bool(true)), _) => {
                self.violation(ptr, "`items: true` is not accepted: give the item schema")
            }
            (Some(items @ Value::Object(_)), None) => {
                self.node(items, &format!("{ptr}/items"), depth)
            }
            (None, None) => self.violation(ptr, "an array needs `items` (or `prefixItems`)"),
            (_, Some(_)) => self.violation(ptr, "with `prefixItems`, `items` must be `false`"),
            (Some(_), None) => self.violation(ptr, "`items` must be a schema object"),
        }
        if let Some(prefix) = obj.get("prefixItems") {
            match prefix {
                Value::Array(p) => {
                    for (i, s) in p.iter().enumerate() {
                        self.node(s, &format!("{ptr}/prefixItems/{i}"), depth);
                    }
                }
                _ => self.violation(ptr, "`prefixItems` must be an array"),
            }
        }
    }

    fn check_ref(&mut self, r: &Value, ptr: &str) {
        let Some(r) = r.as_str() else {
            self.violation(ptr, "`$ref` must be a string");
            return;
        };
        match r.strip_prefix("#/$defs/") {
            Some(name) if !name.contains('/') => {
                if self.root.pointer(&format!("/$defs/{name}")).is_none() {
                    self.violation(
                        ptr,
                        &format!("`$ref` points to `{r}`, which is not defined"),
                    );
                }
            }
            _ if r == "#" => {}
            _ => self.violation(
                ptr,
                &format!("`$ref` must point into `#/$defs/` of the same schema, not `{r}`"),
            ),
        }
    }
}

/// Finds a cycle of `$ref`s (a recursive schema), as the list of definitions on it.
pub(crate) fn find_ref_cycle(schema: &Value) -> Option<Vec<String>> {
    let mut edges: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut root_refs = BTreeSet::new();
    collect_refs(schema, &mut root_refs, true);
    edges.insert("#".into(), root_refs);
    if let Some(Value::Object(defs)) = schema.get("$defs") {
        for (name, def) in defs {
            let mut refs = BTreeSet::new();
            collect_refs(def, &mut refs, false);
            edges.insert(name.clone(), refs);
        }
    }
    // Depth-first search with colours, from the root.
    let mut state: HashMap<String, u8> = HashMap::new();
    let mut stack = Vec::new();
    fn visit(
        n: &str,
        edges: &HashMap<String, BTreeSet<String>>,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let start = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle: Vec<String> = stack.get(start..).unwrap_or_default().to_vec();
                cycle.push(n.to_owned());
                return Some(cycle);
            }
            Some(_) => return None,
            None => {}
        }
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        if let Some(next) = edges.get(n) {
            for m in next {
                if let Some(c) = visit(m, edges, state, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    visit("#", &edges, &mut state, &mut stack).map(|c| {
        c.into_iter()
            .map(|n| if n == "#" { "(root)".to_owned() } else { n })
            .collect()
    })
}

fn collect_refs(node: &Value, out: &mut BTreeSet<String>, skip_defs: bool) {
    for_each_ref(node, skip_defs, &mut |r| {
        if r == "#" {
            out.insert("#".into());
        } else if let Some(name) = r.strip_prefix("#/$defs/") {
            out.insert(name.to_owned());
        }
    });
}

//! The schemas of real requests that Cerebras accepted pass `Dialect::Strict.check`;
//! small breakages of them fail it.

use serde_json::{Value, json};
use typecall::schema::Dialect;
use typecall_tests::{json_files, read_json, recordings_dir};

/// Every JSON Schema sent in a recorded request: response formats and tool parameters.
fn recorded_schemas() -> Option<Vec<(String, Value)>> {
    let dir = recordings_dir("recorded schemas")?.join("cerebras");
    let mut out = Vec::new();
    for path in json_files(&dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !(name.starts_with("GenSync-JSONSchema") || name.contains("-Tools-")) {
            continue;
        }
        let rec = read_json(&path);
        for (i, interaction) in rec["interactions"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let body = &interaction["request"]["body"];
            let label = format!("{}#{i}", path.strip_prefix(&dir).unwrap_or(&path).display());
            if let Some(s) = body.pointer("/response_format/json_schema/schema") {
                out.push((label.clone(), s.clone()));
            }
            for tool in body["tools"].as_array().into_iter().flatten() {
                if let Some(p) = tool.pointer("/function/parameters") {
                    out.push((
                        format!("{label} tool {}", tool["function"]["name"]),
                        p.clone(),
                    ));
                }
            }
        }
    }
    Some(out)
}

#[test]
fn schemas_cerebras_accepted_pass_the_strict_check() {
    let Some(schemas) = recorded_schemas() else {
        return;
    };
    assert!(
        schemas.len() > 50,
        "expected many recorded schemas, found {}",
        schemas.len()
    );
    let failures: Vec<String> = schemas
        .iter()
        .filter_map(|(label, s)| {
            Dialect::Strict
                .check(s)
                .err()
                .map(|e| format!("{label}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn breaking_a_recorded_schema_fails_the_strict_check() {
    let Some(schemas) = recorded_schemas() else {
        return;
    };
    for (label, schema) in schemas {
        let mut no_additional = schema.clone();
        no_additional
            .as_object_mut()
            .unwrap()
            .remove("additionalProperties");
        let err = Dialect::Strict.check(&no_additional).expect_err(&label);
        assert!(
            err.to_string().contains("additionalProperties"),
            "{label}: {err}"
        );

        let mut not_required = schema.clone();
        not_required["required"] = json!([]);
        let err = Dialect::Strict.check(&not_required).expect_err(&label);
        assert!(err.to_string().contains("required"), "{label}: {err}");
    }
}

#[test]
fn every_strict_rule_of_cerebras_is_checked() {
    let base = |prop: Value| json!({"type": "object", "properties": {"a": prop}, "required": ["a"], "additionalProperties": false});
    let cases = [
        (base(json!({"type": ["string", "null"]})), "lists of types"),
        (
            base(json!({"type": "string", "nullable": true})),
            "nullable",
        ),
        (base(json!({"type": "string", "pattern": "^a$"})), "pattern"),
        (base(json!({"type": "string", "format": "email"})), "format"),
        (
            base(json!({"type": "array", "items": {"type": "string"}, "minItems": 1})),
            "minItems",
        ),
        (base(json!({"type": "array", "items": true})), "items: true"),
        (base(json!({"type": "array"})), "needs `items`"),
        (
            base(json!({"oneOf": [{"type": "string"}, {"type": "integer"}]})),
            "use `anyOf`",
        ),
        (
            base(
                json!({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"},
            {"type": "number"}, {"type": "null"}, {"type": "array", "items": {"type": "string"}}]}),
            ),
            "at most 5",
        ),
        (
            base(json!({"$ref": "https://example.com/s.json"})),
            "#/$defs/",
        ),
        (base(json!({"$ref": "#/$defs/Missing"})), "not defined"),
        (
            base(json!({"type": "object", "properties": {}})),
            "additionalProperties",
        ),
        (base(json!(true)), "boolean schemas"),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            "root schema",
        ),
        (
            json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false,
            "definitions": {}}),
            "use `$defs`",
        ),
        (
            json!({"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}, "required": ["n"],
            "additionalProperties": false, "$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}},
            "required": ["n"], "additionalProperties": false}}}),
            "recursive",
        ),
        (
            base(json!({"type": "string", "description": "x".repeat(5_000)})),
            "characters long",
        ),
    ];
    for (schema, expected) in cases {
        let err = Dialect::Strict.check(&schema).expect_err(expected);
        assert!(
            err.to_string().contains(expected),
            "expected {expected:?} in: {err}"
        );
    }
    // Every violation is listed, not only the first.
    let two = json!({"type": "object", "properties": {"a": {"type": ["string", "null"], "pattern": "x"}}});
    assert_eq!(
        Dialect::Strict.check(&two).unwrap_err().violations().len(),
        4
    );
}

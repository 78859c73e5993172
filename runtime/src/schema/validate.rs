//! Checking a JSON value against the FULL (unlowered) schema, with errors a
//! model can act on: each one a JSON pointer and what was expected there.

use std::fmt;

use serde_json::Value;

/// One reason a value does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationIssue {
    /// JSON pointer to the offending part of the value (`""` is the whole value).
    pub pointer: String,
    /// What is wrong there, phrased for a model to fix it.
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "at {at}: {}", self.message)
    }
}

/// Every way a value broke its schema, as found by
/// [`Schema::validate`](super::Schema::validate). Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub struct ValidationErrors {
    issues: Vec<ValidationIssue>,
}

impl ValidationErrors {
    pub(crate) fn new(issues: Vec<ValidationIssue>) -> Self {
        Self { issues }
    }
    /// The issues, in the order the validator found them.
    pub fn issues(&self) -> &[ValidationIssue] {
        &self.issues
    }
    /// The JSON pointers of the issues.
    pub fn pointers(&self) -> impl Iterator<Item = &str> {
        self.issues.iter().map(|i| i.pointer.as_str())
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the value does not match the schema ({} issue(s))",
            self.issues.len()
        )?;
        for i in &self.issues {
            write!(f, "\n  {i}")?;
        }
        Ok(())
    }
}

/// A compiled validator for a full schema (kept, to name allowed values).
pub(crate) struct Validator {
    inner: jsonschema::Validator,
    schema: Value,
}

impl Validator {
    pub(crate) fn compile(full: &Value) -> Result<Self, String> {
        jsonschema::options()
            .should_validate_formats(true)
            .build(full)
            .map(|inner| Self {
                inner,
                schema: full.clone(),
            })
            .map_err(|e| e.to_string())
    }

    pub(crate) fn validate(&self, value: &Value) -> Result<(), ValidationErrors> {
        let mut issues = Vec::new();
        for e in self.inner.iter_errors(value) {
            flatten(&e, &self.schema, &mut issues);
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors::new(issues))
        }
    }
}

/// Reports an error; for a failed `anyOf`/`oneOf` where only one branch fits
/// the value's type (an `Option<T>` is `anyOf [T, null]`), reports that branch's
/// errors instead, so that the pointer reaches the field that is wrong.
fn flatten(e: &jsonschema::ValidationError<'_>, schema: &Value, out: &mut Vec<ValidationIssue>) {
    use jsonschema::error::ValidationErrorKind;
    let context = match e.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(context) = context {
        let here = e.instance_path().as_str();
        let mut fitting = context.iter().filter(|branch| {
            !branch.iter().all(|b| {
                matches!(b.kind(), ValidationErrorKind::Type { .. })
                    && b.instance_path().as_str() == here
            })
        });
        if let (Some(only), None) = (fitting.next(), fitting.next())
            && !only.is_empty()
        {
            for b in only {
                flatten(b, schema, out);
            }
            return;
        }
        // A choice between constants (an enum whose variants are documented):
        // name the allowed values, as an `enum` error does.
        if let Some(allowed) = allowed_values(schema, e.schema_path().as_str()) {
            out.push(ValidationIssue {
                pointer: here.to_owned(),
                message: shorten(&format!("{} is not one of {allowed}", e.instance())),
            });
            return;
        }
    }
    out.push(ValidationIssue {
        pointer: e.instance_path().as_str().to_owned(),
        message: shorten(&e.to_string()),
    });
}

/// The values a `oneOf`/`anyOf` of constants allows (`"a", "b" or null`), when
/// every branch is a `const` or an `enum` (after following `$ref`s).
fn allowed_values(schema: &Value, keyword_pointer: &str) -> Option<String> {
    let branches = schema.pointer(keyword_pointer)?.as_array()?;
    let mut values = Vec::new();
    for b in branches {
        let b = super::unlower::resolve(b, schema);
        if let Some(c) = b.get("const") {
            values.push(c.to_string());
        } else if let Some(Value::Array(e)) = b.get("enum") {
            values.extend(e.iter().map(Value::to_string));
        } else if b.get("type").and_then(Value::as_str) == Some("null") {
            values.push("null".into());
        } else {
            return None;
        }
    }
    Some(match values.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => return None,
    })
}

/// Keeps a message readable when it quotes a large value.
fn shorten(message: &str) -> String {
    const MAX: usize = 400;
    if message.chars().count() <= MAX {
        return message.to_owned();
    }
    let cut: String = message.chars().take(MAX).collect();
    format!("{cut}…")
}

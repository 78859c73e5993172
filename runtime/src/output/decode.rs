//! Text → JSON → validated `T`: drop reasoning, take the JSON out of code
//! fences or surrounding prose, validate against the FULL schema, deserialize.
//! And the repair prompt that tells a model what to fix.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::chat::split_think;
use crate::error::excerpt;
use crate::schema::{DecodeError, Schema, ValidationErrors};

/// Why a model's answer could not be turned into the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum AnswerError {
    /// No JSON in the answer at all.
    #[error("the answer contains no JSON value: {excerpt:?}")]
    NoJson {
        /// The start of the answer.
        excerpt: String,
    },
    /// Something that looks like JSON but does not parse.
    #[error("the answer's JSON does not parse ({error}): {excerpt:?}")]
    BadJson {
        /// The parser's message.
        error: String,
        /// The JSON text, shortened.
        excerpt: String,
    },
    /// Valid JSON that breaks the schema: each issue with its JSON pointer.
    #[error("the answer does not match the schema: {}", issues.join("; "))]
    Schema {
        /// `at /pointer: message`, one per issue.
        issues: Vec<String>,
    },
    /// Matches the schema, refused by the type's `Deserialize`.
    #[error("the answer could not be deserialized: {0}")]
    Deserialize(String),
}

impl From<ValidationErrors> for AnswerError {
    fn from(errors: ValidationErrors) -> Self {
        AnswerError::Schema {
            issues: errors.issues().iter().map(ToString::to_string).collect(),
        }
    }
}

/// Finds the JSON value in a model's answer: after a `<think>` block, inside a
/// ```` ```json ```` fence, or between prose. Trailing commas and other invalid
/// JSON are errors, never silently fixed.
///
/// # Errors
/// [`AnswerError::NoJson`] or [`AnswerError::BadJson`].
pub fn extract_json(text: &str) -> Result<Value, AnswerError> {
    let (_, answer) = split_think(text);
    let trimmed = answer.trim();
    if trimmed.is_empty() {
        return Err(AnswerError::NoJson {
            excerpt: String::new(),
        });
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Ok(v);
    }
    if let Some(inner) = fenced(trimmed).map(str::trim).filter(|t| !t.is_empty()) {
        return parse_json(inner);
    }
    let Some(start) = trimmed.find(['{', '[']) else {
        return Err(AnswerError::NoJson {
            excerpt: excerpt(trimmed, 120),
        });
    };
    let rest = trimmed.get(start..).unwrap_or_default();
    let end = matching_end(rest).unwrap_or(rest.len());
    parse_json(rest.get(..end).unwrap_or(rest))
}

fn parse_json(text: &str) -> Result<Value, AnswerError> {
    serde_json::from_str(text).map_err(|e| AnswerError::BadJson {
        error: e.to_string(),
        excerpt: excerpt(text, 200),
    })
}

/// The content of the first ```` ``` ```` fence (with or without a language tag).
fn fenced(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = text.get(open + 3..)?;
    let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
    let body = after.get(body_start..)?;
    let close = body.find("```").unwrap_or(body.len());
    body.get(..close)
}

/// The byte length of the first balanced JSON container at the start of `s`,
/// skipping brackets inside strings.
fn matching_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Decodes a JSON value shaped by `schema`'s dialect into `T`.
///
/// # Errors
/// [`AnswerError::Schema`] with every issue, or [`AnswerError::Deserialize`].
pub fn decode_value<T: DeserializeOwned>(schema: &Schema, value: Value) -> Result<T, AnswerError> {
    schema.decode(value).map_err(|e| match e {
        DecodeError::Invalid(errors) => errors.into(),
        DecodeError::Deserialize(m) => AnswerError::Deserialize(m),
    })
}

/// The whole path: text → JSON → validated `T`.
///
/// # Errors
/// Any [`AnswerError`].
pub fn decode_answer<T: DeserializeOwned>(schema: &Schema, text: &str) -> Result<T, AnswerError> {
    decode_value(schema, extract_json(text)?)
}

/// The message that asks a model to fix its answer.
pub fn repair_prompt(error: &AnswerError) -> String {
    let what = match error {
        AnswerError::NoJson { .. } => "Your answer contained no JSON.".to_owned(),
        AnswerError::BadJson { error, .. } => format!("Your answer was not valid JSON: {error}."),
        AnswerError::Schema { issues } => {
            let mut s = "Your JSON did not match the schema:".to_owned();
            for i in issues {
                s.push_str("\n- ");
                s.push_str(i);
            }
            s
        }
        AnswerError::Deserialize(m) => format!("Your JSON could not be used: {m}."),
    };
    format!("{what}\nReply again with only the corrected JSON, nothing else.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Dialect, schema_for};
    use serde_json::json;

    #[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
    struct Fruit {
        is_fruit: bool,
        count: Option<u8>,
    }

    #[test]
    fn json_is_found_in_fences_prose_and_after_thinking() {
        let cases = [
            r#"{"a": 1}"#,
            "```json\n{\"a\": 1}\n```",
            "```\n{\"a\": 1}\n```",
            "Sure! Here it is: {\"a\": 1}. Anything else?",
            "<think>Maybe {\"a\": 2}?</think>\n{\"a\": 1}",
            "reasoning without an opener</think>{\"a\": 1}",
            "  \n{\"a\": 1}\n\n",
        ];
        for c in cases {
            assert_eq!(extract_json(c).unwrap(), json!({"a": 1}), "{c:?}");
        }
        assert_eq!(
            extract_json(r#"The list: ["x", "y}"] done"#).unwrap(),
            json!(["x", "y}"])
        );
    }

    #[test]
    fn broken_json_is_an_error_not_a_guess() {
        assert!(matches!(
            extract_json(r#"{"a": 1,}"#),
            Err(AnswerError::BadJson { .. })
        ));
        assert!(matches!(
            extract_json(r#"[1, 2,]"#),
            Err(AnswerError::BadJson { .. })
        ));
        assert!(matches!(
            extract_json("no json here"),
            Err(AnswerError::NoJson { .. })
        ));
        assert!(matches!(extract_json(""), Err(AnswerError::NoJson { .. })));
        assert!(matches!(
            extract_json("{\"a\": "),
            Err(AnswerError::BadJson { .. })
        ));
    }

    #[test]
    fn unicode_escapes_decode() {
        assert_eq!(
            extract_json(r#"{"s": "caf\u00e9 \ud83d\ude00"}"#).unwrap(),
            json!({"s": "café 😀"})
        );
    }

    #[test]
    fn out_of_range_numbers_are_validation_errors_not_wraparounds() {
        let s = schema_for::<Fruit>(Dialect::Strict).unwrap();
        let e = decode_answer::<Fruit>(s, r#"{"is_fruit": true, "count": 256}"#).unwrap_err();
        assert!(
            matches!(&e, AnswerError::Schema { issues } if issues[0].contains("/count")),
            "{e}"
        );
        let e = decode_answer::<Fruit>(s, r#"{"is_fruit": true, "count": -1}"#).unwrap_err();
        assert!(matches!(e, AnswerError::Schema { .. }));
        // Absent nullable field: None (Cerebras's version 2 may omit it).
        assert_eq!(
            decode_answer::<Fruit>(s, r#"{"is_fruit": true}"#).unwrap(),
            Fruit {
                is_fruit: true,
                count: None
            }
        );
        let prompt =
            repair_prompt(&decode_answer::<Fruit>(s, r#"{"is_fruit": "yes"}"#).unwrap_err());
        assert!(
            prompt.contains("/is_fruit") && prompt.contains("corrected JSON"),
            "{prompt}"
        );
    }
}

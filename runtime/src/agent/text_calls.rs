//! Tool calls a model wrote as text instead of making them: a JSON object that
//! names an offered tool and gives its arguments, bare, in a ```` ```json ````
//! fence, in `<tool_call>` tags, or in a list. Small models on servers that do
//! not parse their template's call format answer this way; such an answer is
//! a call (checked like any other), never the final answer.

use serde_json::{Map, Value};

use crate::chat::ToolCall;

/// How much of an answer is searched for calls.
const MAX_SCANNED_BYTES: usize = 256 * 1024;
/// How many places an answer is tried at (each `{`).
const MAX_TRIES: usize = 64;

/// What an answer written as text holds.
#[derive(Debug, PartialEq)]
pub(crate) enum TextCalls {
    /// No call of an offered tool.
    None,
    /// Calls of offered tools, in the order written.
    Calls(Vec<ToolCall>),
    /// An object naming an offered tool whose arguments cannot be read: what
    /// is wrong, for a repair round.
    Malformed(String),
}

/// The calls of offered tools (`offered` says which names are) written in
/// `text`, with the ids `text_call_0`, `text_call_1`, ….
pub(crate) fn find(text: &str, offered: &dyn Fn(&str) -> bool) -> TextCalls {
    let text = match text.get(..MAX_SCANNED_BYTES) {
        Some(t) => t,
        // Cut at a character boundary.
        None => {
            let mut end = MAX_SCANNED_BYTES.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        }
    };
    let mut calls = Vec::new();
    let mut malformed = None;
    let mut from = 0;
    let mut tries = 0;
    while let Some(offset) = text.get(from..).and_then(|t| t.find('{')) {
        tries += 1;
        if tries > MAX_TRIES {
            break;
        }
        let start = from + offset;
        let rest = &text[start..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                let end = start + values.byte_offset();
                match read_call(&value, offered) {
                    Some(Ok((name, arguments))) => {
                        let id = format!("text_call_{}", calls.len());
                        calls.push(ToolCall::new(id, name, arguments.to_string()));
                        from = end;
                        continue;
                    }
                    Some(Err(why)) => {
                        malformed.get_or_insert(why);
                        from = end;
                        continue;
                    }
                    None => {}
                }
            }
            Some(Err(_)) if names_offered_tool(rest, offered) => {
                malformed.get_or_insert_with(|| {
                    "the tool call written as text is not valid JSON".to_owned()
                });
            }
            _ => {}
        }
        from = start + 1;
    }
    match (calls.is_empty(), malformed) {
        (false, _) => TextCalls::Calls(calls),
        (true, Some(why)) => TextCalls::Malformed(why),
        (true, None) => TextCalls::None,
    }
}

/// A call read from one object: `{"name", "arguments"}` (also `parameters`,
/// `args`, `tool`/`function` for the name, or OpenAI's
/// `{"function": {"name", "arguments"}}`). `None` when it names no offered tool.
fn read_call(
    value: &Value,
    offered: &dyn Fn(&str) -> bool,
) -> Option<Result<(String, Value), String>> {
    let obj = value.as_object()?;
    if let Some(Value::Object(inner)) = obj.get("function")
        && inner.contains_key("name")
    {
        return read_call(&Value::Object(inner.clone()), offered);
    }
    let name = ["name", "tool", "function", "tool_name"]
        .iter()
        .find_map(|k| obj.get(*k)?.as_str())?;
    if !offered(name) {
        return None;
    }
    let arguments = ["arguments", "parameters", "args", "input"]
        .iter()
        .find_map(|k| obj.get(*k));
    Some(match arguments {
        Some(Value::Object(a)) => Ok((name.to_owned(), Value::Object(a.clone()))),
        // Arguments as a JSON string, as OpenAI's wire carries them.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => Ok((name.to_owned(), v)),
            _ => Err(format!(
                "the arguments of `{name}` written as text are not a JSON object"
            )),
        },
        Some(Value::Null) | None if obj.len() == 1 => {
            Ok((name.to_owned(), Value::Object(Map::new())))
        }
        _ => Err(format!(
            "the call of `{name}` written as text has no `arguments` object"
        )),
    })
}

/// Whether the start of a broken JSON text names an offered tool.
fn names_offered_tool(text: &str, offered: &dyn Fn(&str) -> bool) -> bool {
    let head = text.get(..200).unwrap_or(text);
    let Some(at) = head.find("\"name\"") else {
        return false;
    };
    let after = head[at + 6..]
        .trim_start()
        .trim_start_matches(':')
        .trim_start();
    let Some(quoted) = after.strip_prefix('"') else {
        return false;
    };
    quoted.split('"').next().is_some_and(offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(name: &str) -> bool {
        matches!(name, "add_task" | "math.factorial")
    }

    fn names(found: &TextCalls) -> Vec<(String, String)> {
        match found {
            TextCalls::Calls(c) => c
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_fenced_call_is_a_call() {
        let text =
            "```json\n{\n  \"name\": \"add_task\",\n  \"arguments\": {\"title\": \"milk\"}\n}\n```";
        assert_eq!(
            names(&find(text, &offered)),
            [("add_task".into(), r#"{"title":"milk"}"#.into())]
        );
    }

    #[test]
    fn tagged_listed_and_wrapped_calls_are_calls_in_order() {
        let text = "<tool_call>\n{\"name\": \"add_task\", \"arguments\": \"{\\\"title\\\": \\\"a\\\"}\"}\n</tool_call>\n\
                    Sure: [{\"function\": {\"name\": \"math.factorial\", \"arguments\": {\"number\": 5}}}]";
        let found = names(&find(text, &offered));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1, r#"{"title":"a"}"#);
        assert_eq!(found[1].0, "math.factorial");
    }

    #[test]
    fn json_that_names_no_offered_tool_is_not_a_call() {
        assert_eq!(
            find(r#"{"name": "Ada", "age": 36}"#, &offered),
            TextCalls::None
        );
        assert_eq!(find("The answer is 42.", &offered), TextCalls::None);
        assert_eq!(
            find(r#"{"name": "delete_all", "arguments": {}}"#, &offered),
            TextCalls::None
        );
    }

    #[test]
    fn a_call_without_readable_arguments_asks_for_repair() {
        assert!(matches!(
            find(r#"{"name": "add_task", "arguments": [1]}"#, &offered),
            TextCalls::Malformed(_)
        ));
        assert!(matches!(
            find(
                r#"{"name": "add_task", "arguments": {"title": "mi"#,
                &offered
            ),
            TextCalls::Malformed(_)
        ));
    }

    #[test]
    fn long_answers_are_searched_within_bounds() {
        let mut text = "{".repeat(100_000);
        text.push('é');
        assert_eq!(find(&text, &offered), TextCalls::None);
    }
}

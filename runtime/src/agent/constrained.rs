//! `ToolMode::Constrained`: tool calls asked for as JSON that the server
//! enforces while decoding, for models whose native tool calling is
//! unreliable (small models on a local server).
//!
//! A turn has up to three steps. The model sees the tools as text, in the
//! form small models are trained on (a `<tools>` list of function signatures
//! in the system prompt). The *opening*: a few tokens written freely
//! ([`Opening`], weighed by [`call_is_likelier`] where the server gives the
//! first token's alternatives); words (or the empty list) mean no tool is
//! called. After the opening of a call, the *decision*: a JSON list of calls
//! `[{"name": …, "arguments": …}]` that a grammar holds to the tools' schemas
//! and to at most `max_parallel_tools` calls; an empty list means no tool fits.
//! It starts from the prompt the opening read, and goes on from the opening's
//! fence where the server continues an answer ([`fence_to_go_on_from`]).
//! Calls the model wrote unsure ([`calls_are_doubtful`], where the server
//! gives the tokens' probabilities) are not made, unless a call is required.
//! Then, when no tool is called, the *answer*: a plain request (or one held to
//! the typed answer's schema) without the tool list, whose text is the
//! answer. Tool results go back as `<tool_response>` blocks.

use serde_json::{Map, Value, json};

use crate::chat::{TokenLogprob, ToolCall};
use crate::record::ToolCallRecord;
use crate::schema::{Dialect, Schema, SchemaError, is_data_keyword};
use crate::tool::ToolDef;

/// What the model is told, before the tool list.
const INTRO: &str = "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";

/// What the model is told after the tool list.
const FORMAT: &str = "\n</tools>\n\n";

/// The system prompt of a decision: the agent's own, then the tools.
pub(crate) fn decision_system(system: Option<&str>, defs: &[ToolDef], max_calls: usize) -> String {
    let mut out = String::new();
    if let Some(s) = system.filter(|s| !s.trim().is_empty()) {
        out.push_str(s.trim_end());
        out.push_str("\n\n");
    }
    out.push_str(INTRO);
    for d in defs {
        let signature = json!({
            "type": "function",
            "function": {"name": d.name, "description": d.description, "parameters": d.parameters}
        });
        out.push_str(&signature.to_string());
        out.push('\n');
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out.push_str(FORMAT);
    out.push_str(&instructions(max_calls));
    out
}

/// How to write calls, and what to do when none fits: say so, in words (the
/// opening reads them; BFCL's own prompt says it the same way).
fn instructions(max_calls: usize) -> String {
    let many = if max_calls > 1 {
        format!(" (at most {max_calls})")
    } else {
        " (one at most)".to_owned()
    };
    format!(
        "Call only functions that do what the user asks. For function calls, return a JSON list \
         of calls{many}: [{{\"name\": <function-name>, \"arguments\": <args-json-object>}}]. If \
         none of the functions can be used, point it out."
    )
}

/// How many tokens the model writes, free of the grammar, before a
/// decision: enough for the opening of a call in any of the forms small
/// models write (`` ```json\n[{ ``, `<tool_call>\n{`), and no more (each
/// costs as much as a token of the answer).
pub(crate) const OPENING_TOKENS: u32 = 6;

/// How many tokens the model writes before a decision where the first
/// token's alternatives weigh a call against words ([`call_is_likelier`]):
/// the fence and its language (`` ``` `` `json` or `python`), which the
/// alternatives cannot tell.
pub(crate) const WEIGHED_OPENING_TOKENS: u32 = 2;

/// How many alternatives of the opening's first token are asked for (20 is
/// the most OpenAI-compatible servers give).
pub(crate) const OPENING_ALTERNATIVES: u8 = 20;

/// How a model began its answer when it was free to write anything: the
/// opening of a call, or words.
///
/// A grammar leaves a model only the calls and the empty list; a small
/// model that would answer in words has then to pick one of those, and it
/// seldom picks the empty list. Let free for a few tokens, it shows which
/// it meant (the way it was trained: a call in a code block or in
/// `<tool_call>` tags, or prose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// A call begins (or it cannot be told yet): the grammar decides which.
    Call,
    /// The empty list: no tool fits.
    NoCall,
    /// Words: no tool is called.
    Words,
    /// A code block in a language other than JSON: words, whatever the
    /// first token's alternatives say (they cannot tell its language).
    Code,
}

/// How `text`, the first few tokens of a free answer, begins.
pub(crate) fn opening(text: &str) -> Opening {
    let t = text.trim_start();
    if t.is_empty() || t.starts_with('{') || t.starts_with("<tool_call") {
        return Opening::Call;
    }
    if let Some(rest) = t.strip_prefix('[') {
        let rest = rest.trim_start();
        return if rest.starts_with(']') {
            Opening::NoCall
        } else if rest.is_empty() || rest.starts_with('{') {
            Opening::Call
        } else {
            Opening::Words
        };
    }
    if let Some(rest) = t.strip_prefix("```") {
        // The info string says the language; cut before its end, it is
        // JSON while it can still become a JSON language's name.
        let Some((info, body)) = rest.split_once('\n') else {
            let info = rest.trim();
            let may_be_json = JSON_BLOCKS.iter().any(|l| {
                l.get(..info.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(info))
            });
            return if may_be_json {
                Opening::Call
            } else {
                Opening::Code
            };
        };
        let info = info.trim();
        let json_block = is_json_language(info);
        return if !json_block {
            Opening::Code
        } else if is_empty_list(body) {
            Opening::NoCall
        } else {
            // Anything else in a JSON block is not words: the grammar decides.
            Opening::Call
        };
    }
    Opening::Words
}

/// The opening a decision goes on from, where the server continues an
/// answer: a code fence opened for JSON and nothing after its language
/// (`` ```json ``), which the decision would otherwise write again, token by
/// token. The list itself is left to the grammar, which holds the decision
/// from where it goes on. `None` for any other opening.
pub(crate) fn fence_to_go_on_from(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let (info, line_ended) = match rest.strip_suffix('\n') {
        Some(info) => (info, true),
        None => (rest, false),
    };
    let info_done = line_ended || !info.is_empty();
    (info_done && is_json_language(info)).then_some(text)
}

/// The languages of a fenced block that holds JSON (or calls written in
/// it), as models write them; the empty string is a fence without one.
const JSON_BLOCKS: [&str; 6] = ["", "json", "jsonc", "json5", "tool_call", "tool_code"];

/// Whether `info`, a fence's whole info string, names one of the
/// [`JSON_BLOCKS`] languages.
fn is_json_language(info: &str) -> bool {
    JSON_BLOCKS.iter().any(|l| info.eq_ignore_ascii_case(l))
}

/// Whether `text` begins with an empty JSON list.
fn is_empty_list(text: &str) -> bool {
    text.trim_start()
        .strip_prefix('[')
        .is_some_and(|rest| rest.trim_start().starts_with(']'))
}

/// Whether a call is likelier than not, by the alternatives the server
/// gave for the opening's first token: the probabilities of the tokens that
/// open a call against those of all the others. A call opens with one of a
/// few tokens and words with any of many, so the likeliest token alone
/// favours calls. `None` without alternatives.
pub(crate) fn call_is_likelier(first: &TokenLogprob) -> Option<bool> {
    if first.top_logprobs.is_empty() {
        return None;
    }
    let (mut call, mut other) = (0.0, 0.0);
    for alt in &first.top_logprobs {
        let p = alt.logprob.exp();
        if !p.is_finite() {
            continue;
        }
        match opening(&alt.token) {
            Opening::Call => call += p,
            Opening::NoCall | Opening::Words | Opening::Code => other += p,
        }
    }
    Some(call > other)
}

/// Whether the calls of a grammar-held decision are doubtful: the mean
/// log-probability of its list's tokens ([`list_tokens`]), as the server
/// reports them (the model's own, before the grammar), is below the log of
/// `min_confidence` (see
/// [`Agent::min_call_confidence`](crate::Agent::min_call_confidence)). A
/// token the model gave no probability at all makes them doubtful, unless
/// `min_confidence` is 0; without tokens there is nothing to weigh.
pub(crate) fn calls_are_doubtful(tokens: &[TokenLogprob], min_confidence: f64) -> bool {
    let (sum, n) = list_tokens(tokens)
        .iter()
        .map(|t| t.logprob)
        .filter(|l| !l.is_nan())
        .fold((0.0, 0_usize), |(sum, n), l| (sum + l, n + 1));
    n > 0 && sum / (n as f64) < min_confidence.ln()
}

/// The tokens of a decision's list itself, from the one that opens it to the
/// one that closes it (all of them where neither is found). What the server
/// let the model write around the list (a code fence, its language) is left
/// out: llama.cpp gives those tokens' probabilities in a whole answer but
/// not in a stream, so a decision is weighed the same either way; and how
/// the answer began was weighed already, by the opening.
fn list_tokens(tokens: &[TokenLogprob]) -> &[TokenLogprob] {
    let opens = tokens.iter().position(|t| t.token.contains(['[', '{']));
    let closes = tokens.iter().rposition(|t| t.token.contains([']', '}']));
    match (opens, closes) {
        (Some(from), Some(to)) => tokens.get(from..=to).unwrap_or(tokens),
        _ => tokens,
    }
}

/// The schema of a decision: a list of `{"name", "arguments"}` calls, one
/// branch per tool, at most `max_calls`, at least one when `must_call`.
pub(crate) fn decision_schema(defs: &[ToolDef], max_calls: usize, must_call: bool) -> Value {
    let mut hoisted = Map::new();
    let branches: Vec<Value> = defs
        .iter()
        .map(|d| {
            let args = hoist(&d.parameters, &d.name, &mut hoisted);
            json!({
                "type": "object",
                "properties": {"name": {"type": "string", "enum": [d.name]}, "arguments": args},
                "required": ["name", "arguments"],
                "additionalProperties": false
            })
        })
        .collect();
    let items = match <[Value; 1]>::try_from(branches) {
        Ok([one]) => one,
        Err(many) => json!({"anyOf": many}),
    };
    let mut root = json!({
        "type": "array",
        "items": items,
        "minItems": u32::from(must_call),
        "maxItems": max_calls.max(1),
    });
    if !hoisted.is_empty()
        && let Some(o) = root.as_object_mut()
    {
        o.insert("$defs".into(), Value::Object(hoisted));
    }
    root
}

/// The decision's schema, lowered for a server: any JSON Schema where the
/// server compiles it into a grammar, else the strict subset.
pub(crate) fn decision(
    defs: &[ToolDef],
    max_calls: usize,
    must_call: bool,
    dialect: Dialect,
) -> Result<Schema, SchemaError> {
    Schema::from_json(
        "agent_step",
        decision_schema(defs, max_calls, must_call),
        dialect,
    )
}

/// Moves a schema's `$defs` into `out` under `prefix__`, rewriting its `$ref`s,
/// and returns the schema without its root keywords.
pub(crate) fn hoist(schema: &Value, prefix: &str, out: &mut Map<String, Value>) -> Value {
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

/// The calls of a validated decision, with the ids `call_{turn}_{i}`.
/// Identical calls (the same tool with the same arguments) count once.
pub(crate) fn read_decision(value: &Value, turn: u32) -> Vec<ToolCall> {
    let mut calls: Vec<ToolCall> = Vec::new();
    for c in value.as_array().into_iter().flatten() {
        let Some(name) = c.get("name").and_then(Value::as_str) else {
            continue;
        };
        let args = c
            .get("arguments")
            .cloned()
            .unwrap_or(Value::Object(Map::new()))
            .to_string();
        if calls.iter().any(|k| k.name == name && k.arguments == args) {
            continue;
        }
        let id = format!("call_{turn}_{}", calls.len());
        calls.push(ToolCall::new(id, name, args));
    }
    calls
}

/// The decision in the transcript, as small models are trained to see calls
/// (`<tool_call>` blocks; the tool results follow as `<tool_response>`), so
/// that the answer after them is words, not another list.
pub(crate) fn written(calls: &[ToolCall]) -> String {
    calls
        .iter()
        .map(|c| {
            let call =
                json!({"name": c.name, "arguments": c.parsed_arguments().unwrap_or(Value::Null)});
            format!("<tool_call>\n{call}\n</tool_call>")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Tool results as the user message that follows a decision.
pub(crate) fn results(records: &[ToolCallRecord]) -> String {
    let mut text = String::new();
    for r in records {
        let content = match &r.result {
            Ok(s) => s.clone(),
            Err(e) => format!("error: {e}"),
        };
        let block = json!({"name": r.call.name, "content": content});
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("<tool_response>\n");
        text.push_str(&block.to_string());
        text.push_str("\n</tool_response>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str) -> ToolDef {
        ToolDef::new(
            name,
            format!("The {name} tool."),
            json!({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}),
        )
    }

    #[test]
    fn the_decision_bounds_the_calls_and_names_each_tool() {
        let s = decision_schema(&[def("a"), def("b.c")], 3, false);
        assert_eq!(s["maxItems"], 3);
        assert_eq!(s["minItems"], 0);
        assert_eq!(
            s["items"]["anyOf"][1]["properties"]["name"]["enum"][0],
            "b.c"
        );
        let schema = decision(&[def("a")], 1, true, Dialect::JsonSchema).unwrap();
        assert!(
            schema
                .validate(&json!([{"name": "a", "arguments": {"x": 1}}]))
                .is_ok()
        );
        assert!(schema.validate(&json!([])).is_err(), "a call is required");
        assert!(
            schema
                .validate(&json!([{"name": "a", "arguments": {"x": 1}}, {"name": "a", "arguments": {"x": 2}}]))
                .is_err(),
            "one call at most"
        );
    }

    #[test]
    fn the_model_reads_the_tools_and_how_to_call_them() {
        let text = decision_system(Some("Be brief."), &[def("a")], 4);
        assert!(text.starts_with("Be brief.\n\n# Tools"), "{text}");
        assert!(text.contains(r#""name":"a""#), "{text}");
        assert!(text.contains("The a tool."), "{text}");
        assert!(text.contains("(at most 4)"), "{text}");
        assert!(
            text.contains("none of the functions can be used, point it out"),
            "{text}"
        );
    }

    #[test]
    fn an_opening_tells_a_call_from_words() {
        for call in [
            "```json\n[{\"na",
            "```\n{",
            "```js",
            "```JSON",
            "```tool",
            "  [{\"name\"",
            "[\n",
            "{\"name\": \"a\"",
            "<tool_call>\n{",
            "",
        ] {
            assert_eq!(opening(call), Opening::Call, "{call:?}");
        }
        for none in ["[]", "[ ]\n", " [\n]", "```json\n[]", "```\n [ ]"] {
            assert_eq!(opening(none), Opening::NoCall, "{none:?}");
        }
        // A server that ignores the token limit: still read without recursion.
        assert_eq!(opening(&"```\n".repeat(1_000_000)), Opening::Call);
        for words in [
            "The mass of an electron is",
            "To find the",
            "I cannot help with",
            "[The answer]",
        ] {
            assert_eq!(opening(words), Opening::Words, "{words:?}");
        }
        // A cut language is code once it can no longer become JSON's.
        for code in [
            "```python\nimport",
            "```python\n```json\n[{",
            "```python",
            "```py",
            "```jsx",
            "```日本語",
            "```tool_callback_handler",
        ] {
            assert_eq!(opening(code), Opening::Code, "{code:?}");
        }
    }

    #[test]
    fn the_likelier_kind_of_opening_wins_not_the_likeliest_token() {
        let first = |alts: &[(&str, f64)]| TokenLogprob {
            token: alts[0].0.into(),
            logprob: alts[0].1.ln(),
            bytes: None,
            top_logprobs: alts
                .iter()
                .map(|(t, p)| crate::chat::TopLogprob {
                    token: (*t).into(),
                    logprob: p.ln(),
                    bytes: None,
                })
                .collect(),
        };
        // The likeliest token opens a call, but words are likelier.
        let spread = first(&[("```", 0.40), ("The", 0.30), ("To", 0.20), ("[", 0.05)]);
        assert_eq!(call_is_likelier(&spread), Some(false));
        let calls = first(&[("```", 0.35), ("To", 0.30), ("[", 0.10), ("{\"", 0.10)]);
        assert_eq!(call_is_likelier(&calls), Some(true));
        let empty = first(&[("```", 0.40), ("[]", 0.45)]);
        assert_eq!(call_is_likelier(&empty), Some(false));
        let none = TokenLogprob {
            top_logprobs: Vec::new(),
            ..first(&[("x", 1.0)])
        };
        assert_eq!(call_is_likelier(&none), None);
    }

    /// Tokens as a server reports them, each with its log-probability.
    fn reported(tokens: &[(&str, f64)]) -> Vec<TokenLogprob> {
        tokens
            .iter()
            .map(|&(token, logprob)| TokenLogprob {
                token: token.into(),
                logprob,
                bytes: None,
                top_logprobs: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn calls_written_unsure_are_doubtful() {
        let tokens = |logprobs: &[f64]| -> Vec<TokenLogprob> {
            let xs: Vec<(&str, f64)> = logprobs.iter().map(|&l| ("x", l)).collect();
            reported(&xs)
        };
        let p = crate::agent::DEFAULT_MIN_CALL_CONFIDENCE;
        // Sure of most tokens, unsure of a value: sure on average.
        assert!(!calls_are_doubtful(
            &tokens(&[0.0, -0.01, -0.7, 0.0, 0.0, -0.02]),
            p
        ));
        // Unsure of several tokens.
        let unsure = tokens(&[0.0, -0.7, -0.9, 0.0, -0.4]);
        assert!(calls_are_doubtful(&unsure, p));
        assert!(!calls_are_doubtful(&unsure, 0.6));
        // A token the model gave nothing: doubtful, unless nothing is.
        let nothing = tokens(&[0.0, f64::NEG_INFINITY]);
        assert!(calls_are_doubtful(&nothing, p));
        assert!(!calls_are_doubtful(&nothing, 0.0));
        // No number: not weighed.
        assert!(!calls_are_doubtful(&tokens(&[f64::NAN, -0.01]), p));
        assert!(!calls_are_doubtful(&[], 1.0));
    }

    #[test]
    fn a_decision_goes_on_only_from_a_fence_opened_for_json() {
        for text in ["```json", "```JSON", "```json\n", "```\n", "```tool_call"] {
            assert_eq!(fence_to_go_on_from(text), Some(text), "{text:?}");
        }
        // A language that may still grow, another one, the list begun (the
        // grammar holds a decision from its start), words, leading space.
        for text in [
            "```",
            "```js",
            "```python",
            "```json\n[",
            "```json\n\n",
            "[{",
            "The",
            " ```json",
        ] {
            assert_eq!(fence_to_go_on_from(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_decision_is_weighed_on_its_list_alone_whole_or_streamed() {
        let tokens = reported;
        // As llama.cpp reports a decision whole: the fence around the list
        // (its opening unsure: words were nearly as likely) and the list.
        let list = [
            ("[\n", -0.1),
            (" {\"", -0.1),
            ("name", 0.0),
            ("\":", -0.05),
            (" \"", 0.0),
            ("a", -0.3),
            ("\"}", 0.0),
            ("\n", -0.2),
            ("]", -0.01),
        ];
        let mut whole = vec![("```", -2.0), ("json", 0.0), ("\n", 0.0)];
        whole.extend(list);
        whole.extend([("\n", 0.0), ("```", 0.0)]);
        // Streamed, the fence's language, its line end and its close come
        // without probabilities.
        let mut streamed = vec![("```", -2.0)];
        streamed.extend(list);
        streamed.push(("\n", 0.0));
        let (whole, streamed) = (tokens(&whole), tokens(&streamed));
        assert_eq!(list_tokens(&whole), list_tokens(&streamed));
        assert_eq!(list_tokens(&whole), tokens(&list));
        let p = crate::agent::DEFAULT_MIN_CALL_CONFIDENCE;
        assert!(!calls_are_doubtful(&whole, p));
        assert!(!calls_are_doubtful(&streamed, p));
        // Weighed with the fence, the two would differ, both doubtful.
        let mean = |t: &[TokenLogprob]| t.iter().map(|t| t.logprob).sum::<f64>() / t.len() as f64;
        assert!(mean(&whole) < p.ln() && mean(&streamed) < mean(&whole));
        // A list whose close was cut off: every token written is weighed.
        let cut = tokens(&[("[", -0.5), ("{\"", -0.5), ("na", -0.5)]);
        assert_eq!(list_tokens(&cut).len(), 3);
        assert!(calls_are_doubtful(&cut, p));
        // Closed before it opens: no list to find, every token weighed.
        let odd = tokens(&[("]", 0.0), ("x", -1.0), ("[", 0.0)]);
        assert_eq!(list_tokens(&odd).len(), 3);
    }

    #[test]
    fn identical_calls_in_one_decision_count_once() {
        let calls = read_decision(
            &json!([
                {"name": "a", "arguments": {"x": 1}},
                {"name": "a", "arguments": {"x": 1}},
                {"name": "a", "arguments": {"x": 2}}
            ]),
            3,
        );
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].id, "call_3_1");
        assert_eq!(
            written(&calls),
            "<tool_call>\n{\"name\":\"a\",\"arguments\":{\"x\":1}}\n</tool_call>\n\
             <tool_call>\n{\"name\":\"a\",\"arguments\":{\"x\":2}}\n</tool_call>"
        );
    }
}

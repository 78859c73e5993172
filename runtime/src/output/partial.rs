//! An incremental JSON parser for streamed answers: feed it text as it
//! arrives, read a best-effort partial value after each chunk. Each byte is
//! looked at once (no re-parsing of the buffer), and the partial value is
//! updated in place, so the work is linear in the total size.

use serde_json::{Map, Value};

use crate::schema::escape_pointer;

/// The deepest nesting the parser accepts (as `serde_json`): deeper text is an
/// error, so no later walk of the value (clone, drop, validation) can overflow
/// the stack.
pub const MAX_DEPTH: usize = 128;

/// The longest number or literal (`true`, `null`, …) the parser reads.
const MAX_SCALAR_LEN: usize = 1024;

/// What a partial value holds: containers as far as they arrived, strings as
/// far as they arrived (a prefix of their final text), and numbers, booleans
/// and `null` once complete. Every partial is consistent with the final value.
///
/// ```
/// use typecall::output::PartialJson;
/// let mut p = PartialJson::new();
/// p.push(r#"Here: {"name": "Ad"#);
/// assert_eq!(p.value(), Some(&serde_json::json!({"name": "Ad"})));
/// p.push(r#"a", "tags": ["x", "y"], "age": 3"#);
/// assert_eq!(p.value(), Some(&serde_json::json!({"name": "Ada", "tags": ["x", "y"]})));
/// p.push("6}");
/// assert!(p.is_complete());
/// assert_eq!(p.value(), Some(&serde_json::json!({"name": "Ada", "tags": ["x", "y"], "age": 36})));
/// ```
#[derive(Debug, Default)]
pub struct PartialJson {
    /// Bumped whenever the value changes.
    version: u64,
    root: Option<Value>,
    stack: Vec<Frame>,
    expect: Expect,
    lex: Lex,
    started: bool,
    complete: bool,
    error: Option<String>,
    settled: Vec<String>,
    /// A string value is in progress and its text changed since the last flush.
    dirty: bool,
}

#[derive(Debug)]
enum Frame {
    Array { len: usize },
    Object { key: Option<String> },
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Expect {
    #[default]
    Value,
    ValueOrClose,
    KeyOrClose,
    Key,
    Colon,
    CommaOrClose,
    Done,
}

#[derive(Debug, Default)]
enum Lex {
    #[default]
    None,
    Str {
        buf: String,
        is_key: bool,
        esc: Esc,
        high: Option<u32>,
    },
    Num(String),
    Lit(String),
}

#[derive(Debug, Default, PartialEq)]
enum Esc {
    #[default]
    No,
    Backslash,
    Unicode(u32, u8),
}

impl PartialJson {
    /// A parser waiting for the first `{` or `[` (text before it is skipped).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more text. After an error, further text is ignored.
    pub fn push(&mut self, text: &str) {
        for c in text.chars() {
            if self.error.is_some() || self.complete {
                break;
            }
            if let Err(e) = self.step(c) {
                self.error = Some(e);
            }
        }
        self.flush_string();
    }

    /// Ends the input: a number at the very end completes.
    pub fn finish(&mut self) {
        if let Lex::Num(n) = std::mem::take(&mut self.lex)
            && let Err(e) = self.complete_number(&n)
        {
            self.error = Some(e);
        }
    }

    /// The value so far (`None` before the first `{` or `[`).
    pub fn value(&self) -> Option<&Value> {
        self.root.as_ref()
    }

    /// The value so far without the list elements still arriving: an element
    /// of an open list is there once it is complete (an object whose `}`
    /// came, a string whose closing quote came), so that `{"name": "E"`
    /// inside a list never reads as an item. Values outside lists (a field's
    /// string) stay as far as they arrived.
    ///
    /// ```
    /// use typecall::output::PartialJson;
    /// let mut p = PartialJson::new();
    /// p.push(r#"{"steps": ["Clear the tray", "Wh"#);
    /// assert_eq!(p.complete_items(), Some(serde_json::json!({"steps": ["Clear the tray"]})));
    /// p.push(r#"y", {"name": "E"#);
    /// assert_eq!(p.complete_items(), Some(serde_json::json!({"steps": ["Clear the tray", "Why"]})));
    /// ```
    pub fn complete_items(&self) -> Option<Value> {
        let mut value = self.root.clone()?;
        let string_open = matches!(self.lex, Lex::Str { is_key: false, .. });
        let mut here = &mut value;
        for (depth, frame) in self.stack.iter().enumerate() {
            let innermost = depth + 1 == self.stack.len();
            match frame {
                Frame::Array { .. } => {
                    // Its last element is open when the open path goes on
                    // into it, or it is a string still arriving.
                    if (!innermost || string_open)
                        && let Some(items) = here.as_array_mut()
                    {
                        items.pop();
                    }
                    break;
                }
                Frame::Object { key } => {
                    if innermost {
                        break;
                    }
                    match key.as_deref().and_then(|k| here.get_mut(k)) {
                        Some(child) => here = child,
                        None => break,
                    }
                }
            }
        }
        Some(value)
    }

    /// A counter that changes whenever [`PartialJson::value`] does: compare it
    /// between chunks to know, in constant time, whether there is anything new.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether the root value has closed.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Why the text stopped being JSON, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// JSON pointers of the values that settled since the last call: every
    /// container whose closing bracket arrived and every complete array element.
    pub fn take_settled(&mut self) -> Vec<String> {
        std::mem::take(&mut self.settled)
    }

    fn step(&mut self, c: char) -> Result<(), String> {
        match &mut self.lex {
            Lex::Str { .. } => return self.string_char(c),
            Lex::Num(n) => {
                if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                    if n.len() >= MAX_SCALAR_LEN {
                        return Err(format!("a number longer than {MAX_SCALAR_LEN} characters"));
                    }
                    n.push(c);
                    return Ok(());
                }
                let n = std::mem::take(n);
                self.lex = Lex::None;
                self.complete_number(&n)?;
            }
            Lex::Lit(l) => {
                if c.is_ascii_alphabetic() {
                    if l.len() >= "false".len() {
                        return Err(format!("unexpected `{l}{c}`"));
                    }
                    l.push(c);
                    return Ok(());
                }
                let l = std::mem::take(l);
                self.lex = Lex::None;
                let v = match l.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    other => return Err(format!("unexpected `{other}`")),
                };
                self.complete_value(v)?;
            }
            Lex::None => {}
        }
        if !self.started {
            if c == '{' || c == '[' {
                self.started = true;
            } else {
                return Ok(());
            }
        }
        if c.is_whitespace() {
            return Ok(());
        }
        match (self.expect, c) {
            (Expect::Value | Expect::ValueOrClose, '{') => {
                self.open(Value::Object(Map::new()))?;
                self.stack.push(Frame::Object { key: None });
                self.expect = Expect::KeyOrClose;
            }
            (Expect::Value | Expect::ValueOrClose, '[') => {
                self.open(Value::Array(Vec::new()))?;
                self.stack.push(Frame::Array { len: 0 });
                self.expect = Expect::ValueOrClose;
            }
            (Expect::Value | Expect::ValueOrClose, '"') => {
                self.open(Value::String(String::new()))?;
                self.lex = Lex::Str {
                    buf: String::new(),
                    is_key: false,
                    esc: Esc::No,
                    high: None,
                };
            }
            (Expect::Value | Expect::ValueOrClose, c) if c == '-' || c.is_ascii_digit() => {
                self.lex = Lex::Num(c.to_string());
            }
            (Expect::Value | Expect::ValueOrClose, c) if c.is_ascii_alphabetic() => {
                self.lex = Lex::Lit(c.to_string());
            }
            (Expect::KeyOrClose | Expect::Key, '"') => {
                self.lex = Lex::Str {
                    buf: String::new(),
                    is_key: true,
                    esc: Esc::No,
                    high: None,
                };
            }
            (Expect::Colon, ':') => self.expect = Expect::Value,
            (Expect::CommaOrClose, ',') => {
                self.expect = match self.stack.last() {
                    Some(Frame::Array { .. }) => Expect::Value,
                    _ => Expect::Key,
                };
            }
            (Expect::ValueOrClose | Expect::CommaOrClose, ']')
                if matches!(self.stack.last(), Some(Frame::Array { .. })) =>
            {
                self.close()?;
            }
            (Expect::KeyOrClose | Expect::CommaOrClose, '}')
                if matches!(self.stack.last(), Some(Frame::Object { .. })) =>
            {
                self.close()?;
            }
            (expect, c) => return Err(format!("unexpected `{c}` (expected {expect:?})")),
        }
        Ok(())
    }

    fn string_char(&mut self, c: char) -> Result<(), String> {
        let Lex::Str {
            buf,
            is_key,
            esc,
            high,
        } = &mut self.lex
        else {
            return Ok(());
        };
        match esc {
            Esc::No => match c {
                '"' => {
                    if high.is_some() {
                        return Err("unpaired surrogate in a string".into());
                    }
                    let text = std::mem::take(buf);
                    let key = *is_key;
                    self.lex = Lex::None;
                    if key {
                        if let Some(Frame::Object { key }) = self.stack.last_mut() {
                            *key = Some(text);
                        }
                        self.expect = Expect::Colon;
                    } else {
                        self.append_current_string(&text);
                        self.dirty = false;
                        self.after_value();
                    }
                    return Ok(());
                }
                '\\' => *esc = Esc::Backslash,
                c if (c as u32) < 0x20 => return Err("a control character inside a string".into()),
                c => {
                    buf.push(c);
                    self.dirty |= !*is_key;
                }
            },
            Esc::Backslash => {
                let ch = match c {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        *esc = Esc::Unicode(0, 0);
                        return Ok(());
                    }
                    other => return Err(format!("invalid escape `\\{other}`")),
                };
                buf.push(ch);
                *esc = Esc::No;
                self.dirty |= !*is_key;
            }
            Esc::Unicode(acc, n) => {
                let d = c
                    .to_digit(16)
                    .ok_or_else(|| format!("invalid \\u escape digit `{c}`"))?;
                *acc = *acc * 16 + d;
                *n += 1;
                if *n == 4 {
                    let code = *acc;
                    *esc = Esc::No;
                    match (high.take(), code) {
                        (None, 0xD800..=0xDBFF) => *high = Some(code),
                        (Some(h), 0xDC00..=0xDFFF) => {
                            let cp = 0x10000 + ((h - 0xD800) << 10) + (code - 0xDC00);
                            buf.push(char::from_u32(cp).ok_or("invalid surrogate pair")?);
                        }
                        (Some(_), _) => return Err("unpaired surrogate in a string".into()),
                        (None, 0xDC00..=0xDFFF) => {
                            return Err("unpaired surrogate in a string".into());
                        }
                        (None, code) => buf.push(char::from_u32(code).ok_or("invalid \\u escape")?),
                    }
                    self.dirty |= !*is_key;
                }
            }
        }
        Ok(())
    }

    fn complete_number(&mut self, n: &str) -> Result<(), String> {
        let v: Value = serde_json::from_str(n).map_err(|_| format!("invalid number `{n}`"))?;
        if !v.is_number() {
            return Err(format!("invalid number `{n}`"));
        }
        self.complete_value(v)
    }

    /// Places a complete scalar.
    fn complete_value(&mut self, v: Value) -> Result<(), String> {
        self.open(v)?;
        self.after_value();
        Ok(())
    }

    /// After a value ended: the parent expects a comma or its close; an array
    /// element settles.
    fn after_value(&mut self) {
        if self.stack.is_empty() {
            self.complete = true;
            self.expect = Expect::Done;
            return;
        }
        if let Some(Frame::Array { len }) = self.stack.last() {
            let idx = len.saturating_sub(1);
            let ptr = format!("{}/{idx}", self.pointer_of(self.stack.len()));
            self.settled.push(ptr);
        }
        self.expect = Expect::CommaOrClose;
    }

    /// Places a new value (container, string, or scalar) at the current position.
    fn open(&mut self, v: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH && (v.is_object() || v.is_array()) {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.version = self.version.wrapping_add(1);
        if self.stack.is_empty() {
            if self.root.is_some() {
                return Err("more than one value".into());
            }
            self.root = Some(v);
            return Ok(());
        }
        let depth = self.stack.len();
        let key = match self.stack.last_mut() {
            Some(Frame::Array { len }) => {
                *len += 1;
                None
            }
            Some(Frame::Object { key }) => Some(key.clone().ok_or("a value without a key")?),
            None => None,
        };
        let parent = self.container_mut(depth).ok_or("lost the open container")?;
        match (parent, key) {
            (Value::Array(a), None) => a.push(v),
            (Value::Object(o), Some(k)) => {
                o.insert(k, v);
            }
            _ => return Err("lost the open container".into()),
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        let ptr = self.pointer_of(self.stack.len());
        self.stack.pop();
        self.settled.push(ptr);
        if self.stack.is_empty() {
            self.complete = true;
            self.expect = Expect::Done;
        } else {
            // The closed container was a value of its parent.
            self.expect = Expect::CommaOrClose;
            if let Some(Frame::Array { len }) = self.stack.last() {
                let ptr = format!(
                    "{}/{}",
                    self.pointer_of(self.stack.len()),
                    len.saturating_sub(1)
                );
                if self.settled.last() != Some(&ptr) {
                    self.settled.push(ptr);
                }
            }
        }
        Ok(())
    }

    /// The container of frame `depth` (1 = the root container).
    fn container_mut(&mut self, depth: usize) -> Option<&mut Value> {
        let mut cur = self.root.as_mut()?;
        for frame in self.stack.iter().take(depth.saturating_sub(1)) {
            cur = match (frame, cur) {
                (Frame::Array { .. }, Value::Array(a)) => a.last_mut()?,
                (Frame::Object { key }, Value::Object(o)) => o.get_mut(key.as_deref()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The JSON pointer of the container of frame `depth`.
    fn pointer_of(&self, depth: usize) -> String {
        let mut out = String::new();
        for frame in self.stack.iter().take(depth.saturating_sub(1)) {
            out.push('/');
            match frame {
                Frame::Array { len } => out.push_str(&len.saturating_sub(1).to_string()),
                Frame::Object { key } => {
                    out.push_str(&escape_pointer(key.as_deref().unwrap_or_default()))
                }
            }
        }
        out
    }

    /// Appends text to the in-progress string in the value (in place, so a long
    /// string costs its length once, not once per chunk).
    fn append_current_string(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let depth = self.stack.len();
        let target = if depth == 0 {
            self.root.as_mut()
        } else {
            let key = match self.stack.last() {
                Some(Frame::Object { key }) => key.clone(),
                _ => None,
            };
            match (self.container_mut(depth), key) {
                (Some(Value::Array(a)), None) => a.last_mut(),
                (Some(Value::Object(o)), Some(k)) => o.get_mut(&k),
                _ => None,
            }
        };
        if let Some(Value::String(slot)) = target {
            slot.push_str(text);
            self.version = self.version.wrapping_add(1);
        }
    }

    fn flush_string(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if let Lex::Str {
            buf, is_key: false, ..
        } = &mut self.lex
        {
            let text = std::mem::take(buf);
            self.append_current_string(&text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_in(chunks: &[&str]) -> (Option<Value>, Vec<String>) {
        let mut p = PartialJson::new();
        let mut settled = Vec::new();
        for c in chunks {
            p.push(c);
            settled.extend(p.take_settled());
        }
        p.finish();
        settled.extend(p.take_settled());
        assert!(p.error().is_none(), "{:?}", p.error());
        (p.value().cloned(), settled)
    }

    #[test]
    fn whole_documents_parse_like_serde_json() {
        for doc in [
            r#"{"a": [1, 2.5, -3e2, true, false, null], "b": {"c": "d\n\"e\"\u00e9\ud83d\ude00"}, "": []}"#,
            r#"[{"x": {}}, [], [[]], "s", 0, -0.0, 1e300, 18446744073709551615, -9223372036854775808]"#,
        ] {
            let serde: Value = serde_json::from_str(doc).unwrap();
            let bytes: Vec<String> = doc.chars().map(String::from).collect();
            let refs: Vec<&str> = bytes.iter().map(String::as_str).collect();
            assert_eq!(parse_in(&refs).0.unwrap(), serde, "{doc}");
            assert_eq!(parse_in(&[doc]).0.unwrap(), serde);
        }
    }

    #[test]
    fn array_items_settle_as_they_close() {
        let (_, settled) = parse_in(&[r#"{"value": [{"a": 1}, {"a""#, r#": 2}]}"#]);
        assert!(settled.contains(&"/value/0".to_owned()), "{settled:?}");
        assert!(settled.contains(&"/value/1".to_owned()), "{settled:?}");
        assert!(settled.contains(&"/value".to_owned()));
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
        let mut p = PartialJson::new();
        p.push(&"[".repeat(MAX_DEPTH));
        assert!(p.error().is_none());
        p.push("[");
        assert!(p.error().unwrap().contains("deeper than 128"));
        let mut p = PartialJson::new();
        p.push(&"[".repeat(1_000_000));
        assert!(p.error().is_some());
        drop(p); // and dropping it does not overflow either
    }

    #[test]
    fn the_version_changes_exactly_when_the_value_does() {
        let mut p = PartialJson::new();
        p.push("prose ");
        let v0 = p.version();
        p.push(r#"{"a": "x", "b": "#);
        let v1 = p.version();
        assert_ne!(v0, v1);
        p.push("   ");
        assert_eq!(
            p.version(),
            v1,
            "white space outside strings changes nothing"
        );
        p.push(r#""y"#);
        assert_ne!(p.version(), v1);
    }

    #[test]
    fn invalid_json_stops_with_an_error() {
        let mut p = PartialJson::new();
        p.push(r#"{"a": 1,, "b": 2}"#);
        assert!(p.error().is_some());
        assert_eq!(p.value(), Some(&json!({"a": 1})));
        let mut p = PartialJson::new();
        p.push(r#"{"a": tru }"#);
        assert!(p.error().is_some());
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    use crate::output::PartialJson;

    #[test]
    fn fuzz_partial_json() {
        let input = (jsonish(), proptest::collection::vec(any::<usize>(), 0..8));
        fuzz("partial_json", 4000, input, |(text, cuts)| {
            let mut p = PartialJson::new();
            let mut last_version = p.version();
            // Text deltas are whole UTF-8 strings: cut at character boundaries.
            let cuts: Vec<usize> = cuts
                .iter()
                .map(|c| {
                    let mut at = c % (text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at += 1;
                    }
                    at
                })
                .collect();
            for chunk in split(text.as_bytes(), &cuts) {
                let chunk = std::str::from_utf8(&chunk);
                prop_assert!(chunk.is_ok(), "a cut inside a character");
                p.push(chunk.unwrap_or_default());
                let _ = p.take_settled();
                if p.version() != last_version {
                    prop_assert!(p.value().is_some());
                    last_version = p.version();
                }
                // The value without open list elements is there with the value.
                prop_assert_eq!(p.complete_items().is_some(), p.value().is_some());
            }
            p.finish();
            if p.is_complete() {
                let items = p.complete_items();
                prop_assert_eq!(items.as_ref(), p.value());
            }
            // A complete document reads as serde_json reads it.
            if p.is_complete()
                && p.error().is_none()
                && let Some(start) = text.find(['{', '['])
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text[start..])
            {
                prop_assert_eq!(p.value(), Some(&v));
            }
            Ok(())
        });
    }
}

//! Reasoning that some models write into the content, as `<think>…</think>`.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// Splits a leading `<think>…</think>` block (or reasoning that ends with a
/// lone `</think>`, as when the template opened the block) off `content`.
/// Returns (reasoning, answer); the answer has its leading white space trimmed.
///
/// ```
/// let (r, a) = typecall::chat::split_think("<think>\nhm\n</think>\n\nHello.");
/// assert_eq!((r.as_deref(), a.as_str()), (Some("hm"), "Hello."));
/// ```
pub fn split_think(content: &str) -> (Option<String>, String) {
    if let Some(rest) = content.trim_start().strip_prefix(OPEN) {
        let (reasoning, answer) = split_at_close(rest)
            // Never closed: all of it was reasoning (cut by a token limit).
            .unwrap_or_else(|| (rest.trim().to_owned(), String::new()));
        return (Some(reasoning), answer);
    }
    if !content.contains(OPEN)
        && let Some((reasoning, answer)) = split_at_close(content)
    {
        return (Some(reasoning), answer);
    }
    (None, content.to_owned())
}

/// (reasoning, answer) around the first `</think>`, trimmed; `None` without one.
fn split_at_close(text: &str) -> Option<(String, String)> {
    let end = text.find(CLOSE)?;
    let reasoning = text.get(..end).unwrap_or_default().trim().to_owned();
    let answer = text
        .get(end + CLOSE.len()..)
        .unwrap_or_default()
        .trim_start()
        .to_owned();
    Some((reasoning, answer))
}

/// Routes streamed content into reasoning and answer as `<think>` tags pass,
/// whatever the chunking (a tag may be split across deltas).
#[derive(Debug, Default)]
pub(crate) struct ThinkSplitter {
    state: State,
    pending: String,
}

#[derive(Debug, Default, PartialEq)]
enum State {
    /// Nothing but white space seen yet: a `<think>` may still open.
    #[default]
    Start,
    InThink,
    /// Past the block (or there was none): everything is answer.
    Answer,
    /// Just after `</think>`: leading white space of the answer is dropped.
    AfterThink,
}

/// What a piece of content turned out to be.
#[derive(Debug, PartialEq)]
pub(crate) enum Piece {
    Reasoning(String),
    Answer(String),
}

impl ThinkSplitter {
    #[cfg(test)]
    pub(crate) fn push(&mut self, delta: &str, out: &mut Vec<Piece>) {
        self.push_owned(delta.to_owned(), out);
    }

    /// As [`ThinkSplitter::push`], taking the text: past the block, a delta
    /// goes out as it came, without a copy.
    pub(crate) fn push_owned(&mut self, delta: String, out: &mut Vec<Piece>) {
        if self.state == State::Answer && self.pending.is_empty() {
            if !delta.is_empty() {
                out.push(Piece::Answer(delta));
            }
            return;
        }
        if self.pending.is_empty() {
            self.pending = delta;
        } else {
            self.pending.push_str(&delta);
        }
        loop {
            match self.state {
                State::Start => {
                    let t = self.pending.trim_start();
                    if t.is_empty() {
                        return;
                    }
                    if let Some(rest) = t.strip_prefix(OPEN) {
                        self.pending = rest.to_owned();
                        self.state = State::InThink;
                    } else if OPEN.starts_with(t) {
                        return; // maybe the start of `<think>`
                    } else {
                        self.state = State::Answer;
                    }
                }
                State::InThink => {
                    if let Some(end) = self.pending.find(CLOSE) {
                        let reasoning = self.pending.get(..end).unwrap_or_default().to_owned();
                        let rest = self
                            .pending
                            .get(end + CLOSE.len()..)
                            .unwrap_or_default()
                            .to_owned();
                        if !reasoning.is_empty() {
                            out.push(Piece::Reasoning(reasoning));
                        }
                        self.pending = rest;
                        self.state = State::AfterThink;
                    } else {
                        // Keep back what could be the start of `</think>`.
                        let keep = partial_suffix(&self.pending, CLOSE);
                        let cut = self.pending.len() - keep;
                        if cut > 0 {
                            let reasoning = self.pending.get(..cut).unwrap_or_default().to_owned();
                            self.pending = self.pending.get(cut..).unwrap_or_default().to_owned();
                            out.push(Piece::Reasoning(reasoning));
                        }
                        return;
                    }
                }
                State::AfterThink => {
                    let t = self.pending.trim_start();
                    if t.is_empty() {
                        self.pending.clear();
                        return;
                    }
                    self.pending = t.to_owned();
                    self.state = State::Answer;
                }
                State::Answer => {
                    if !self.pending.is_empty() {
                        out.push(Piece::Answer(std::mem::take(&mut self.pending)));
                    }
                    return;
                }
            }
        }
    }

    /// Flushes what was held back at the end of the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<Piece>) {
        let rest = std::mem::take(&mut self.pending);
        if rest.is_empty() {
            return;
        }
        match self.state {
            State::InThink => out.push(Piece::Reasoning(rest)),
            State::AfterThink => {
                let t = rest.trim_start();
                if !t.is_empty() {
                    out.push(Piece::Answer(t.to_owned()))
                }
            }
            State::Start | State::Answer => out.push(Piece::Answer(rest)),
        }
    }
}

/// The length of the longest suffix of `s` that is a proper prefix of `tag`.
fn partial_suffix(s: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            s.len() >= n
                && s.is_char_boundary(s.len() - n)
                && s.ends_with(tag.get(..n).unwrap_or_default())
        })
        .unwrap_or(0)
}

/// Separates reasoning from the answer, the same way for blocking and streamed
/// answers: the provider's reasoning field wins; otherwise a `<think>` block in
/// the content is split off. Empty strings become `None`.
pub(crate) fn separate_reasoning(
    content: Option<String>,
    reasoning: Option<String>,
) -> (Option<String>, Option<String>) {
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (think, answer) = match content {
        Some(c) => {
            let (t, a) = split_think(&c);
            (t, Some(a))
        }
        None => (None, None),
    };
    let reasoning = match (non_empty(reasoning), non_empty(think)) {
        (Some(r), Some(t)) => Some(format!("{r}\n{t}")),
        (r, t) => r.or(t),
    };
    (non_empty(answer), reasoning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&str]) -> (String, String) {
        let mut s = ThinkSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        let (mut r, mut a) = (String::new(), String::new());
        for p in out {
            match p {
                Piece::Reasoning(t) => r.push_str(&t),
                Piece::Answer(t) => a.push_str(&t),
            }
        }
        (r, a)
    }

    #[test]
    fn think_blocks_are_split_whatever_the_chunking() {
        let text = "<think>\nI should greet.\n</think>\n\nHello.";
        for split in 0..text.len() {
            for split2 in split..text.len() {
                let (a, b, c) = (&text[..split], &text[split..split2], &text[split2..]);
                let (r, ans) = run(&[a, b, c]);
                assert_eq!(r.trim(), "I should greet.", "{a:?} {b:?} {c:?}");
                assert_eq!(ans, "Hello.", "{a:?} {b:?} {c:?}");
            }
        }
        assert_eq!(
            run(&["Hello", " <think>no</think>"]),
            (String::new(), "Hello <think>no</think>".into())
        );
        assert_eq!(run(&["<thi", "nk>cut"]), ("cut".into(), String::new()));
        assert_eq!(run(&["<", "b>bold"]), (String::new(), "<b>bold".into()));
    }

    #[test]
    fn split_think_handles_blocking_content() {
        assert_eq!(split_think("Hello"), (None, "Hello".into()));
        assert_eq!(
            split_think("<think>a</think>b"),
            (Some("a".into()), "b".into())
        );
        assert_eq!(
            split_think("reasoning</think>\n\nanswer"),
            (Some("reasoning".into()), "answer".into())
        );
    }
}

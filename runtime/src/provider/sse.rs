//! Server-sent events, parsed incrementally: correct whatever the network
//! chunking (lines split across reads, CRLF, comments), linear in the bytes.

/// One event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// An incremental SSE parser: feed it bytes as they arrive, take the events.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Where to resume scanning for a line end in `buf`.
    scan_from: usize,
    /// The previous chunk ended in `\r`: a `\n` right after it is part of it.
    skip_lf: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// A new parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; appends every event they complete to `out`.
    ///
    /// # Errors
    /// A line that is not UTF-8.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), String> {
        // A `\n` right after a chunk that ended in `\r` completes that line end.
        // The first byte that arrives settles it, even when it is the chunk's
        // only byte (a later `\n` is a line end of its own).
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        self.buf.extend_from_slice(bytes);
        // Lines are read where they are (the buffer is taken out meanwhile).
        let buf = std::mem::take(&mut self.buf);
        let mut start = 0;
        let mut i = self.scan_from;
        while let Some(&b) = buf.get(i) {
            if b == b'\n' || b == b'\r' {
                let line = buf.get(start..i).unwrap_or_default();
                if let Err(e) = self.line(line, out) {
                    // The stream is broken: hold on to nothing.
                    *self = Self::default();
                    return Err(e);
                }
                if b == b'\r' {
                    match buf.get(i + 1) {
                        Some(b'\n') => i += 1,
                        Some(_) => {}
                        None => self.skip_lf = true,
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf = buf;
        self.buf.drain(..start);
        self.scan_from = self.buf.len();
        Ok(())
    }

    /// How many bytes the parser holds: the unfinished line and the data of the
    /// unfinished event. A caller bounds memory by checking it after each
    /// [`SseParser::push`].
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_add(self.data.len())
    }

    /// Ends the input: an event not yet closed by a blank line is dispatched.
    ///
    /// # Errors
    /// A last line that is not UTF-8.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), String> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line, out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), String> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let line =
            std::str::from_utf8(line).map_err(|e| format!("event stream is not UTF-8: {e}"))?;
        if line.starts_with(':') {
            return Ok(()); // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {} // id, retry, unknown fields: not used
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: self.event.take(),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event = None;
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out).unwrap();
        }
        p.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn lines_comments_crlf_and_multiline_data() {
        let text = b": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        let all = parse(&[text]);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].data, "{\"a\":1}");
        assert_eq!(
            all[1],
            SseEvent {
                event: Some("x".into()),
                data: "one\ntwo".into()
            }
        );
        assert_eq!(all[2].data, "[DONE]");
        // Any split gives the same events, byte by byte included.
        for cut in 0..text.len() {
            assert_eq!(parse(&[&text[..cut], &text[cut..]]), all, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(parse(&bytes), all);
    }

    #[test]
    fn a_crlf_split_between_chunks_is_one_line_end() {
        assert_eq!(parse(&[b"data: a\r", b"\n\r", b"\ndata: b\n\n"]).len(), 2);
        // The `\n` of a split CRLF alone in its chunk: the next `\n` is a blank
        // line (found by the fuzzer; it used to be swallowed, merging events).
        let text = b"data: event: x\r\n\ndata: \n\n";
        let whole = parse(&[text]);
        assert_eq!(whole.len(), 2);
        assert_eq!(parse(&[&text[..15], &text[15..16], &text[16..]]), whole);
        assert_eq!(
            parse(&[b"data: a\r", b"", b"\n", b"\ndata: b\n\n"]).len(),
            2
        );
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use crate::fuzzing::*;

    use crate::provider::sse::{SseEvent, SseParser};

    #[test]
    fn fuzz_sse_parser() {
        let input = (
            proptest::collection::vec(
                prop_oneof![
                    Just(b"data: ".to_vec()),
                    Just(b"event: x".to_vec()),
                    Just(b": keep-alive".to_vec()),
                    Just(b"\n".to_vec()),
                    Just(b"\r\n".to_vec()),
                    Just(b"\r".to_vec()),
                    Just(vec![0xff, 0xc3]),
                    proptest::collection::vec(any::<u8>(), 0..20),
                    "[a-z{}\":]{0,20}".prop_map(String::into_bytes),
                ],
                0..60,
            )
            .prop_map(|p| p.concat()),
            proptest::collection::vec(any::<usize>(), 0..8),
        );
        fuzz("sse_parser", 3000, input, |(bytes, cuts)| {
            let run = |chunks: &[Vec<u8>]| -> (Vec<SseEvent>, bool, usize) {
                let mut p = SseParser::new();
                let mut out = Vec::new();
                let mut ok = true;
                let mut most_buffered = 0;
                for c in chunks {
                    ok &= p.push(c, &mut out).is_ok();
                    most_buffered = most_buffered.max(p.buffered());
                    if !ok {
                        break;
                    }
                }
                if ok {
                    ok &= p.finish(&mut out).is_ok();
                }
                (out, ok, most_buffered)
            };
            let whole = run(std::slice::from_ref(&bytes));
            let parts = run(&split(&bytes, &cuts));
            // It holds at most what it was given.
            prop_assert!(whole.2 <= bytes.len() && parts.2 <= bytes.len());
            // Whatever the chunking, the same events (up to a first error).
            if whole.1 && parts.1 {
                prop_assert_eq!(whole.0, parts.0);
            }
            Ok(())
        });
    }
}

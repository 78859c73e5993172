//! MCP over a byte stream pair (stdio, a pipe), with every incoming line
//! checked before the protocol sees it: a line that is too long, not JSON, or
//! a batch gets a JSON-RPC error back and the server goes on (rmcp alone
//! answers such lines with nothing).

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::message_check::Unreadable;

/// The longest line read (16 MiB); a longer one is answered with an error
/// and skipped.
pub(super) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How much may wait between the protocol and the pipe.
const PIPE_BYTES: usize = 64 * 1024;

/// Lines on their way out, written whole and in order.
const OUTGOING_LINES: usize = 64;

/// The transport rmcp speaks on (its input and its output), and the task
/// that writes to `write` until both the protocol and the checker are done.
pub(super) fn guarded<R, W>(
    read: R,
    write: W,
    max_line: usize,
) -> ((DuplexStream, DuplexStream), JoinHandle<()>)
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (to_protocol, protocol_in) = tokio::io::duplex(PIPE_BYTES);
    let (protocol_out, from_protocol) = tokio::io::duplex(PIPE_BYTES);
    let (lines, outgoing) = mpsc::channel::<Vec<u8>>(OUTGOING_LINES);
    tokio::spawn(check_incoming(read, to_protocol, lines.clone(), max_line));
    tokio::spawn(relay_outgoing(from_protocol, lines));
    let writer = tokio::spawn(write_lines(outgoing, write));
    ((protocol_in, protocol_out), writer)
}

/// Forwards good lines to the protocol; answers the others.
async fn check_incoming<R: AsyncRead + Unpin>(
    read: R,
    mut to_protocol: DuplexStream,
    answers: mpsc::Sender<Vec<u8>>,
    max_line: usize,
) {
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut read, &mut line, max_line).await {
            Ok(Line::End) | Err(_) => break,
            Ok(Line::TooLong) => {
                let error = line_of(&Unreadable {
                    id: Value::Null,
                    code: -32700,
                    message: format!("Parse error: the line is longer than {max_line} bytes"),
                });
                if answers.send(error).await.is_err() {
                    break;
                }
            }
            Ok(Line::Complete) => {
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                if let Some(error) = refusal(text) {
                    if answers.send(error).await.is_err() {
                        break;
                    }
                    continue;
                }
                if to_protocol.write_all(text).await.is_err()
                    || to_protocol.write_all(b"\n").await.is_err()
                {
                    break;
                }
            }
        }
    }
    // The client is gone: the protocol sees the end of its input.
    let _ = to_protocol.shutdown().await;
}

/// What [`read_line`] found.
enum Line {
    Complete,
    TooLong,
    End,
}

/// Reads one line into `line` (without its newline), holding at most
/// `max_line` bytes of it; the rest of a longer line is read and dropped.
async fn read_line<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    line: &mut Vec<u8>,
    max_line: usize,
) -> std::io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::End
            } else {
                Line::Complete
            });
        }
        let (chunk, found_end) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (available.get(..at).unwrap_or_default(), true),
            None => (available, false),
        };
        if !too_long {
            if line.len() + chunk.len() > max_line {
                too_long = true;
                line.clear();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(found_end);
        read.consume(used);
        if found_end {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

/// The error to answer a line with, if it is not one readable message.
fn refusal(text: &[u8]) -> Option<Vec<u8>> {
    super::message_check::check(text)
        .err()
        .map(|refused| line_of(&refused))
}

/// The JSON-RPC error for a refused message, as one line.
fn line_of(refused: &Unreadable) -> Vec<u8> {
    let mut line = refused.to_json().to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Passes the protocol's output on, line by line.
async fn relay_outgoing(from_protocol: DuplexStream, lines: mpsc::Sender<Vec<u8>>) {
    let mut from_protocol = BufReader::new(from_protocol);
    loop {
        // The protocol's own lines: written by us, not bounded here.
        let mut line = Vec::new();
        match from_protocol.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if lines.send(line).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Writes whole lines to `write`, flushing each.
async fn write_lines<W: AsyncWrite + Unpin>(mut lines: mpsc::Receiver<Vec<u8>>, mut write: W) {
    while let Some(line) = lines.recv().await {
        if write.write_all(&line).await.is_err() || write.flush().await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn bad_lines_are_answered_and_good_ones_pass_in_order() {
        let input: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\nnot json\n\n[1]\n\
            0123456789abcdef0123456789abcdef0123456789abcdef\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}";
        let (client_out, mut server_out) = tokio::io::duplex(4096);
        let ((mut protocol_in, protocol_out), writer) = guarded(input, client_out, 40);
        let mut passed = String::new();
        protocol_in.read_to_string(&mut passed).await.unwrap();
        assert_eq!(
            passed,
            "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}\n"
        );
        drop(protocol_out);
        writer.await.unwrap();
        let mut answered = String::new();
        server_out.read_to_string(&mut answered).await.unwrap();
        let codes: Vec<i64> = answered
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["error"]["code"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(codes, [-32700, -32600, -32700]);
    }
}

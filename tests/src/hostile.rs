//! The tests' one scripted HTTP server on 127.0.0.1 (the fault suite's and
//! the provider tests'): each request gets the next scripted [`Reply`], whose
//! body may be an ordinary answer or endless, huge, dripping, cut, or never
//! come; the request bodies are kept ([`HostileServer::bodies`]). Bodies are generated as they are written, so a "1 GiB" body
//! costs the server no memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a reply's body is sent.
#[derive(Debug, Clone)]
pub enum Body {
    /// These bytes, then the connection closes.
    Bytes(Vec<u8>),
    /// `head`, then `piece` `times` times, then `tail`, then the connection
    /// closes.
    Repeat {
        head: Vec<u8>,
        piece: Vec<u8>,
        times: u64,
        tail: Vec<u8>,
    },
    /// `head`, then `piece` every `every`, forever.
    Drip {
        head: Vec<u8>,
        piece: Vec<u8>,
        every: Duration,
    },
    /// These bytes, then the connection is reset (the promised length never
    /// comes).
    Cut(Vec<u8>),
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, headers and a body (close-delimited unless `content_length`).
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: Body,
        content_length: Option<u64>,
    },
    /// Read the request and never answer.
    Silence,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Self {
        Reply::Send {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::Bytes(body.to_string().into_bytes()),
            content_length: None,
        }
    }
    /// A raw answer.
    pub fn raw(status: u16, content_type: &str, body: Body) -> Self {
        Reply::Send {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
            content_length: None,
        }
    }
    /// An event stream of these `data:` payloads, then `[DONE]`.
    pub fn sse(chunks: &[Value]) -> Self {
        Self::raw(
            200,
            "text/event-stream",
            Body::Bytes(sse_bytes(chunks, true)),
        )
    }
    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Self {
        if let Reply::Send { headers, .. } = &mut self {
            headers.push((k.into(), v.into()));
        }
        self
    }
    /// Announces a `content-length`.
    pub fn content_length(mut self, n: u64) -> Self {
        if let Reply::Send { content_length, .. } = &mut self {
            *content_length = Some(n);
        }
        self
    }
}

/// `data:` events for `chunks`, with `data: [DONE]` when `done`.
pub fn sse_bytes(chunks: &[Value], done: bool) -> Vec<u8> {
    let mut out = String::new();
    for c in chunks {
        out.push_str(&format!("data: {c}\n\n"));
    }
    if done {
        out.push_str("data: [DONE]\n\n");
    }
    out.into_bytes()
}

/// The server; it stops accepting when dropped.
#[derive(Debug)]
pub struct HostileServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub url: String,
    requests: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    /// Serves `replies`, one per request; the last repeats.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!(
            "http://{}/v1",
            listener.local_addr().expect("a local address")
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (requests.clone(), bodies.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let Some(reply) = replies.get(n.min(replies.len().saturating_sub(1))).cloned()
                else {
                    break;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let body = read_request(&mut socket).await;
                    if let Ok(mut b) = seen.lock() {
                        b.push(body);
                    }
                    answer(&mut socket, reply).await;
                });
            }
        });
        Self {
            url,
            requests,
            bodies,
            task,
        }
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The JSON bodies of the requests, in order of arrival.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(socket: &mut TcpStream, reply: Reply) {
    let Reply::Send {
        status,
        headers,
        body,
        content_length,
    } = reply
    else {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return;
    };
    let mut head = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let cut = matches!(body, Body::Cut(_));
    match (content_length, &body) {
        (Some(n), _) => head.push_str(&format!("content-length: {n}\r\n")),
        (None, Body::Cut(b)) => head.push_str(&format!("content-length: {}\r\n", b.len() + 1000)),
        _ => {}
    }
    head.push_str("connection: close\r\n\r\n");
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    match body {
        Body::Bytes(b) | Body::Cut(b) => {
            let _ = socket.write_all(&b).await;
        }
        Body::Repeat {
            head,
            piece,
            times,
            tail,
        } => {
            if socket.write_all(&head).await.is_err() {
                return;
            }
            for _ in 0..times {
                if socket.write_all(&piece).await.is_err() {
                    return;
                }
            }
            let _ = socket.write_all(&tail).await;
        }
        Body::Drip { head, piece, every } => {
            if socket.write_all(&head).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if socket.write_all(&piece).await.is_err() {
                    return;
                }
            }
        }
    }
    if cut {
        // A reset rather than a clean end of the promised body.
        let _ = socket.set_zero_linger();
    } else {
        let _ = socket.shutdown().await;
    }
}

/// Reads one HTTP/1.1 request: its JSON body (`null` when it has none).
pub(crate) async fn read_request(socket: &mut TcpStream) -> Value {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = socket.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return Value::Null;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            return serde_json::from_slice(buf.get(end + 4..).unwrap_or_default())
                .unwrap_or(Value::Null);
        }
    }
}

//! A loopback HTTP server that answers from recordings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::matching::RequestMeaning;
use crate::error::{Error, Result};

/// One recorded exchange, in the recordings' JSON format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The request: `method`, `url`, `body`.
    pub request: RecordedRequest,
    /// The response: `status`, `headers`, raw `body`.
    pub response: RecordedResponse,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL it went to.
    pub url: String,
    /// The JSON body, if any.
    #[serde(default)]
    pub body: Option<Value>,
}

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers, each with its values.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, Vec<String>>,
    /// The raw body (JSON, or SSE lines). A binary body, recorded as
    /// `{"base64": "…"}`, is kept as its base64 text.
    #[serde(default, deserialize_with = "text_or_base64")]
    pub body: String,
}

/// A recorded body: text, or `{"base64": "…"}` for a binary one.
fn text_or_base64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Binary { base64: String },
    }
    Ok(match Body::deserialize(d)? {
        Body::Text(t) => t,
        Body::Binary { base64 } => base64,
    })
}

/// A recording file: `{"interactions": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cassette {
    pub interactions: Vec<Interaction>,
}

/// Recorded interactions of one meaning, served in order (a file that recorded
/// retries answers the first request with its first interaction, and so on).
#[derive(Debug, Default)]
struct Entry {
    interactions: Vec<Interaction>,
    served: usize,
}

type Table = HashMap<RequestMeaning, Entry>;

/// What the server answers from: recordings by meaning, or one answer for all.
#[derive(Debug, Default)]
struct Answers {
    table: Table,
    /// The one answer, rendered once to the bytes sent for every request.
    every_request: Option<Arc<[u8]>>,
}

/// A loopback server answering from recordings. Stops when dropped.
#[derive(Debug)]
pub struct Replay {
    addr: std::net::SocketAddr,
    table: Arc<Mutex<Answers>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replay {
    /// Loads every `*.json` recording below `dir` and starts serving them on
    /// 127.0.0.1 (a random port), on a thread of its own: usable from sync and
    /// async code alike.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `dir` cannot be read, a file is not a recording,
    /// or no port can be bound.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        collect_files(dir, &mut files).map_err(|e| {
            Error::config(format!("cannot read recordings in {}: {e}", dir.display()))
        })?;
        files.sort();
        if files.is_empty() {
            return Err(Error::config(format!(
                "no recordings (*.json) in {}",
                dir.display()
            )));
        }
        let mut interactions = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
            let cassette: Cassette = serde_json::from_str(&text).map_err(|e| {
                Error::config(format!("{} is not a recording: {e}", path.display()))
            })?;
            interactions.extend(cassette.interactions);
        }
        Self::from_interactions(interactions)
    }

    /// Serves these interactions (for tests that build them in code).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no port can be bound.
    pub fn from_interactions(interactions: Vec<Interaction>) -> Result<Self> {
        let mut table = Table::new();
        for i in interactions {
            let meaning = RequestMeaning::of(
                &i.request.method,
                &url_path(&i.request.url),
                i.request.body.as_ref(),
            );
            table.entry(meaning).or_default().interactions.push(i);
        }
        Self::serve(Answers {
            table,
            every_request: None,
        })
    }

    /// Answers every request, whatever it asks, with `response` (headers and
    /// body as recorded), on keep-alive connections: for benchmarks of a
    /// client's own overhead, and tests that count what one call costs.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no port can be bound.
    pub fn answering_every_request(response: RecordedResponse) -> Result<Self> {
        Self::serve(Answers {
            table: Table::new(),
            every_request: Some(render(&response).into()),
        })
    }

    fn serve(table: Answers) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::config(format!("cannot bind 127.0.0.1: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::config(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::config(e.to_string()))?;
        let table = Arc::new(Mutex::new(table));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = table.clone();
        let thread = std::thread::Builder::new()
            .name("typecall-replay".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let accept = async {
                        loop {
                            let Ok((socket, _)) = listener.accept().await else {
                                continue;
                            };
                            let t = served.clone();
                            tokio::spawn(async move {
                                let _ = handle(socket, t).await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = rx => {}
                    }
                });
            })
            .map_err(|e| Error::config(format!("cannot start the replay thread: {e}")))?;
        Ok(Self {
            addr,
            table,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many recorded meanings are loaded.
    pub fn len(&self) -> usize {
        self.table.lock().map(|t| t.table.len()).unwrap_or(0)
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many requests were answered from the recordings so far (a
    /// request answered again counts again).
    pub fn served(&self) -> usize {
        self.table
            .lock()
            .map(|t| t.table.values().map(|e| e.served).sum())
            .unwrap_or(0)
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A URL's path and query (what [`RequestMeaning::of`] reads).
fn url_path(url: &str) -> String {
    let without_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    without_scheme
        .find('/')
        .and_then(|i| without_scheme.get(i..))
        .unwrap_or("/")
        .to_owned()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Serves the requests of one connection (kept alive, as a real server would)
/// until the client closes it.
async fn handle(
    mut socket: tokio::net::TcpStream,
    table: Arc<Mutex<Answers>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some((method, path, body)) = read_request(&mut socket, &mut buf).await? {
        // One answer for all needs no reading of the request; otherwise the
        // answer is found by what the request means.
        let answer = {
            let mut t = table
                .lock()
                .map_err(|_| std::io::Error::other("replay table poisoned"))?;
            match &t.every_request {
                Some(bytes) => Ok(bytes.clone()),
                None => {
                    let json: Option<Value> = if body.is_empty() {
                        None
                    } else {
                        serde_json::from_slice(&body).ok()
                    };
                    let meaning = RequestMeaning::of(&method, &path, json.as_ref());
                    t.table
                        .get_mut(&meaning)
                        .and_then(|entry| {
                            let i = entry.served.min(entry.interactions.len().saturating_sub(1));
                            entry.served += 1;
                            entry
                                .interactions
                                .get(i)
                                .map(|x| render(&x.response).into())
                        })
                        .ok_or(meaning)
                }
            }
        };
        let out: Arc<[u8]> = match answer {
            Ok(bytes) => bytes,
            Err(meaning) => {
                let message = format!("typecall replay: no recorded interaction matches {meaning}");
                let body = serde_json::json!({"message": message, "type": "replay_no_match", "param": null, "code": "replay_no_match"});
                render(&RecordedResponse {
                    status: 400,
                    headers: [(
                        "content-type".to_owned(),
                        vec!["application/json".to_owned()],
                    )]
                    .into_iter()
                    .collect(),
                    body: body.to_string(),
                })
                .into()
            }
        };
        socket.write_all(&out).await?;
    }
    Ok(())
}

/// A recorded response as the bytes of an HTTP/1.1 answer: its status, its
/// headers but those about framing (the body is sent whole, with its length).
/// An image, audio or video body goes back as its bytes: recorded as
/// `{"base64": …}`, decoded; recorded as text (the recordings' client kept
/// each byte that is not part of UTF-8 text as the character of that
/// number), those numbers.
fn render(r: &RecordedResponse) -> Vec<u8> {
    let media = r.headers.iter().any(|(k, vs)| {
        k.eq_ignore_ascii_case("content-type")
            && vs.iter().any(|v| {
                ["image/", "audio/", "video/"]
                    .iter()
                    .any(|m| v.starts_with(m))
            })
    });
    let base64_text = !r.body.is_empty()
        && r.body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=\r\n".contains(&b));
    let body: Vec<u8> = if media && base64_text {
        // Recorded as `{"base64": …}`: the bytes it encodes.
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(r.body.replace(['\r', '\n'], ""))
            .unwrap_or_else(|_| r.body.as_bytes().to_vec())
    } else if media {
        let mut bytes = Vec::with_capacity(r.body.len());
        for c in r.body.chars() {
            match u8::try_from(u32::from(c)) {
                Ok(b) => bytes.push(b),
                Err(_) => bytes.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        bytes
    } else {
        r.body.as_bytes().to_vec()
    };
    let mut out = format!("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (k, vs) in &r.headers {
        if matches!(
            k.to_ascii_lowercase().as_str(),
            "content-length" | "transfer-encoding" | "connection" | "content-encoding"
        ) {
            continue;
        }
        for v in vs {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Reads the next request of a connection: method, path and body; `None` when
/// the client closed it. `buf` keeps bytes read past the request.
async fn read_request(
    socket: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = String::from_utf8_lossy(buf.get(..header_end).unwrap_or_default()).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_owned();
    let path = url_path(parts.next().unwrap_or("/"));
    let content_length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 << 20);
    while buf.len() < header_end + content_length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let body = buf
        .get(header_end..header_end + content_length)
        .unwrap_or_default()
        .to_vec();
    buf.drain(..header_end + content_length);
    Ok(Some((method, path, body)))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

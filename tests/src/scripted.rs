//! A scripted HTTP server on 127.0.0.1: answers each request with the next step
//! of a script (and can break a connection mid-body), and keeps what it received.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// A whole response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Headers and part of a body (with a content-length promising more), then
    /// the connection is closed.
    BreakAfter {
        status: u16,
        headers: Vec<(String, String)>,
        partial_body: String,
    },
}

impl Step {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Step::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
    /// An SSE response from `data:` payloads (`[DONE]` appended).
    pub fn sse(chunks: &[Value]) -> Self {
        let mut body = String::new();
        for c in chunks {
            body.push_str(&format!("data: {c}\n\n"));
        }
        body.push_str("data: [DONE]\n\n");
        Step::Respond {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body,
        }
    }
    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Self {
        match &mut self {
            Step::Respond { headers, .. } | Step::BreakAfter { headers, .. } => {
                headers.push((k.into(), v.into()))
            }
        }
        self
    }
}

/// The server. Stops when dropped.
#[derive(Debug)]
pub struct ScriptedServer {
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts serving `steps`, one per request; after the last, the last repeats.
    pub async fn start(steps: Vec<Step>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        let task = tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    break;
                };
                let step = steps[n.min(steps.len() - 1)].clone();
                n += 1;
                let rec = rec.clone();
                tokio::spawn(async move {
                    let body = crate::hostile::read_request(&mut socket).await;
                    rec.lock().unwrap().push(body);
                    let (status, headers, body, full_len) = match step {
                        Step::Respond {
                            status,
                            headers,
                            body,
                        } => {
                            let len = body.len();
                            (status, headers, body, len)
                        }
                        Step::BreakAfter {
                            status,
                            headers,
                            partial_body,
                        } => {
                            let len = partial_body.len() + 1000;
                            (status, headers, partial_body, len)
                        }
                    };
                    let mut head = format!("HTTP/1.1 {status} X\r\n");
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str(&format!(
                        "content-length: {full_len}\r\nconnection: close\r\n\r\n"
                    ));
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    /// The JSON bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

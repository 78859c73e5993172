//! Serving MCP over streamable HTTP, safe by default.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::McpError;
use super::server::ToolHandler;

/// How [`McpServer::serve_http`](super::McpServer::serve_http) listens.
///
/// The defaults are the safe ones the MCP specification asks for: bound to
/// `127.0.0.1:8000` only, requests whose `Origin` is not a loopback page
/// refused (DNS-rebinding protection), `Host` checked, request bodies capped
/// at 1 MiB and open sessions at 64. A bearer token can be required.
///
/// Clients are held to time and space: a request's headers must arrive within
/// 10 s and its body within 30 s; a session unused for 60 s is closed, and
/// when every session is taken the least recently used one that has been idle
/// for 10 s gives way to a new one. A body that is not JSON is refused with a
/// JSON-RPC parse error (-32700, HTTP 400), a batch with -32600 (MCP has no
/// batches since 2025-06-18), a `tools/call` whose arguments are not an
/// object with -32602.
///
/// ```
/// use typecall::mcp::HttpOptions;
/// let options = HttpOptions::new()
///     .addr("127.0.0.1:0".parse().unwrap())
///     .bearer_token("s3cret")
///     .max_body_bytes(256 * 1024);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct HttpOptions {
    addr: SocketAddr,
    path: String,
    bearer_tokens: Vec<String>,
    max_body_bytes: usize,
    max_sessions: usize,
    max_sessions_per_token: Option<usize>,
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
    beyond_loopback: bool,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    session_idle_timeout: Duration,
    evictable_after: Duration,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .field(
                "bearer_tokens",
                &format!("{} (redacted)", self.bearer_tokens.len()),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_token", &self.max_sessions_per_token)
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("beyond_loopback", &self.beyond_loopback)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("evictable_after", &self.evictable_after)
            .finish()
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpOptions {
    /// The safe defaults (see the type's docs).
    pub fn new() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            path: "/mcp".to_owned(),
            bearer_tokens: Vec::new(),
            max_body_bytes: 1024 * 1024,
            max_sessions: 64,
            max_sessions_per_token: None,
            allowed_origins: vec![
                "http://localhost:*".to_owned(),
                "http://127.0.0.1:*".to_owned(),
                "http://[::1]:*".to_owned(),
            ],
            allowed_hosts: vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ],
            beyond_loopback: false,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            session_idle_timeout: Duration::from_secs(60),
            evictable_after: Duration::from_secs(10),
        }
    }
    /// The address to listen on (port 0: any free port, see
    /// [`HttpServer::local_addr`]). An address that is not loopback is refused
    /// unless [`beyond_loopback`](Self::beyond_loopback) is set.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
    /// The path of the MCP endpoint (default `/mcp`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Requires `Authorization: Bearer <token>` on every request (401 without).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_tokens = vec![token.into()];
        self
    }
    /// Accepts any of these bearer tokens (one per client or team, say),
    /// requiring one on every request; with
    /// [`max_sessions_per_token`](Self::max_sessions_per_token) no token can
    /// take every session.
    pub fn bearer_tokens(mut self, tokens: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.bearer_tokens = tokens.into_iter().map(Into::into).collect();
        self
    }
    /// The most sessions one bearer token may hold open (default: no limit
    /// but [`max_sessions`](Self::max_sessions)). Beyond it the token's least
    /// recently used session idle for [`evictable_after`](Self::evictable_after)
    /// is closed for the new one; if all are in use, 429 with `Retry-After`.
    pub fn max_sessions_per_token(mut self, sessions: usize) -> Self {
        self.max_sessions_per_token = Some(sessions.max(1));
        self
    }
    /// The largest request body accepted (413 beyond; default 1 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
    /// The most sessions open at once (503 for a new one beyond; default 64).
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions.max(1);
        self
    }
    /// The browser origins allowed besides none at all (a request without
    /// `Origin` is not from a browser page and passes); entries like
    /// `https://app.example.com:443` or `http://localhost:*`. Replaces the
    /// loopback defaults.
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }
    /// The `Host` values accepted (host or `host:port`). Replaces the loopback
    /// defaults; needed when serving beyond loopback.
    pub fn allowed_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }
    /// How long a client may take to send a request's headers (default 10 s);
    /// the connection is closed beyond it.
    pub fn header_read_timeout(mut self, limit: Duration) -> Self {
        self.header_read_timeout = limit;
        self
    }
    /// How long a client may take to send a request's body (default 30 s;
    /// 408 beyond).
    pub fn body_read_timeout(mut self, limit: Duration) -> Self {
        self.body_read_timeout = limit;
        self
    }
    /// How long a session may go unused before it is closed (default 60 s).
    pub fn session_idle_timeout(mut self, limit: Duration) -> Self {
        self.session_idle_timeout = limit;
        self
    }
    /// When every session is taken, how long the least recently used one must
    /// have been idle to be closed for a new one (default 10 s; until then a
    /// new session gets 503 with `Retry-After`).
    pub fn evictable_after(mut self, idle: Duration) -> Self {
        self.evictable_after = idle;
        self
    }
    /// Allows an address that is not loopback. Set a bearer token and the
    /// allowed hosts too: anyone who reaches the port can call the tools.
    pub fn beyond_loopback(mut self, yes: bool) -> Self {
        self.beyond_loopback = yes;
        self
    }
}

/// A running streamable-HTTP MCP server. Dropping it stops it.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    path: String,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl HttpServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// The endpoint's URL (`http://127.0.0.1:PORT/mcp`).
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
    /// Serves until the server stops: forever, unless its task fails. (To stop
    /// it later, keep the `HttpServer` and call [`shutdown`](Self::shutdown)
    /// instead.)
    pub async fn run(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
    /// Stops accepting connections and ends the open sessions.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// Ends one POST's SSE response stream on request (SEP-1699): what it holds
/// already is sent, then the stream ends and the client resumes it with
/// `Last-Event-ID`. Put in the request's extensions for the call to find.
#[derive(Debug, Clone)]
pub(super) struct StreamCut {
    cut: CancellationToken,
    /// The session the stream belongs to (none for a stateless request).
    session: Option<String>,
    resumes: Arc<Resumes>,
}

/// Calls waiting for their client to resume a stream they cut, by session.
#[derive(Debug, Default)]
struct Resumes {
    waiting: Mutex<HashMap<String, Vec<Arc<tokio::sync::Notify>>>>,
}

impl Resumes {
    /// The client of `session` resumed a stream: every call waiting on it
    /// goes on.
    fn resumed(&self, session: &str) {
        let waiting = self
            .waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(session))
            .unwrap_or_default();
        for call in waiting {
            call.notify_one();
        }
    }
}

impl StreamCut {
    /// Ends the stream, then waits up to `limit` for the client to resume
    /// it; whether it did.
    pub(super) async fn cut_and_wait(&self, limit: Duration) -> bool {
        let Some(session) = &self.session else {
            self.cut.cancel();
            return false;
        };
        let back = Arc::new(tokio::sync::Notify::new());
        if let Ok(mut waiting) = self.resumes.waiting.lock() {
            waiting
                .entry(session.clone())
                .or_default()
                .push(Arc::clone(&back));
        }
        self.cut.cancel();
        let resumed = tokio::time::timeout(limit, back.notified()).await.is_ok();
        if let Ok(mut waiting) = self.resumes.waiting.lock()
            && let Some(calls) = waiting.get_mut(session)
        {
            calls.retain(|c| !Arc::ptr_eq(c, &back));
            if calls.is_empty() {
                waiting.remove(session);
            }
        }
        resumed
    }
}

/// A response body that ends once its [`StreamCut`] is cut, after the frames
/// ready by then.
struct Cuttable {
    inner: Body,
    cut: std::pin::Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
}

impl hyper::body::Body for Cuttable {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        use std::future::Future;
        use std::task::Poll;
        let cut = self.cut.as_mut().poll(cx).is_ready();
        match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            // Cut: what is ready goes, then the stream ends.
            Poll::Pending if cut => Poll::Ready(None),
            other => other,
        }
    }
}

/// The JSON-RPC error for a request body that could not be read: HTTP 400,
/// but 200 for bad parameters (a well-formed request that failed).
fn unreadable(body: &[u8]) -> Option<Response<Body>> {
    let refused = super::message_check::check(body).err()?;
    let status = if refused.code == -32602 {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut response = Response::new(Full::new(Bytes::from(refused.to_json().to_string())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Some(response)
}

fn refuse(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// Compares without stopping at the first difference.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct Gate {
    service: StreamableHttpService<ToolHandler, LocalSessionManager>,
    sessions: Arc<LocalSessionManager>,
    path: String,
    bearer: Vec<String>,
    max_body_bytes: usize,
    max_sessions: usize,
    max_sessions_per_token: Option<usize>,
    body_read_timeout: Duration,
    evictable_after: Duration,
    /// The sessions seen through the gate.
    book: Mutex<HashMap<String, Seen>>,
    /// Calls waiting for their client to resume a stream.
    resumes: Arc<Resumes>,
}

/// A session as the gate saw it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// When it was last used.
    used: Instant,
    /// The bearer token (its index) that opened it.
    token: Option<usize>,
}

/// Why a new session was refused.
struct NoRoom {
    status: StatusCode,
    message: &'static str,
}

impl Gate {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        if request.uri().path() != self.path {
            return refuse(
                StatusCode::NOT_FOUND,
                "not found: the MCP endpoint is elsewhere",
            );
        }
        let mut token = None;
        if !self.bearer.is_empty() {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Every token is compared, so the time taken says nothing of
            // which matched.
            token = self
                .bearer
                .iter()
                .map(|t| same_secret(given.as_bytes(), t.as_bytes()))
                .enumerate()
                .fold(None, |found, (i, same)| if same { Some(i) } else { found });
            if token.is_none() {
                return refuse(StatusCode::UNAUTHORIZED, "a bearer token is required");
            }
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes as u64) {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            );
        }
        let session = request
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let new_session = request.method() == http::Method::POST && session.is_none();
        if new_session && let Err(no) = self.make_room(token).await {
            let mut response = refuse(no.status, no.message);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                http::HeaderValue::from(self.evictable_after.as_secs().max(1)),
            );
            return response;
        }
        let response = if request.method() == http::Method::POST {
            let (mut parts, body) = request.into_parts();
            let body = match self.read_body(body).await {
                Ok(body) => body,
                Err(refused) => return refused,
            };
            if let Some(refused) = unreadable(&body) {
                return refused;
            }
            let stream = StreamCut {
                cut: CancellationToken::new(),
                session: session.clone(),
                resumes: Arc::clone(&self.resumes),
            };
            parts.extensions.insert(stream.clone());
            let response = self
                .service
                .handle(Request::from_parts(parts, Full::new(body)))
                .await;
            let is_sse = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            if is_sse {
                response.map(|inner| {
                    Cuttable {
                        inner,
                        cut: Box::pin(stream.cut.cancelled_owned()),
                    }
                    .boxed()
                })
            } else {
                response
            }
        } else {
            let resuming = request.method() == http::Method::GET
                && request.headers().contains_key("last-event-id");
            let response = self.service.handle(request).await;
            if resuming
                && response.status().is_success()
                && let Some(id) = &session
            {
                self.resumes.resumed(id);
            }
            response
        };
        // Only a session the server knows is remembered (an id made up by a
        // client gets 404 and takes no memory here).
        if let Some(id) = &session
            && response.status().is_success()
        {
            self.touch(id, token);
        }
        if new_session
            && let Some(id) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            self.touch(id, token);
        }
        response
    }

    /// The whole body, within the size and time limits.
    async fn read_body(&self, body: Incoming) -> Result<Bytes, Response<Body>> {
        let limited = http_body_util::Limited::new(body, self.max_body_bytes);
        match tokio::time::timeout(self.body_read_timeout, limited.collect()).await {
            Err(_) => Err(refuse(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            )),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )),
            Ok(Err(e)) => Err(refuse(
                StatusCode::BAD_REQUEST,
                &format!("the request body could not be read: {e}"),
            )),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }

    fn touch(&self, id: &str, token: Option<usize>) {
        if let Ok(mut book) = self.book.lock() {
            let seen = book.entry(id.to_owned()).or_insert(Seen {
                used: Instant::now(),
                token,
            });
            seen.used = Instant::now();
        }
    }

    /// Whether a new session (opened with `token`) fits: under the token's
    /// limit and the cap, or once the least recently used session idle long
    /// enough (the token's own, then anyone's) is closed.
    async fn make_room(&self, token: Option<usize>) -> Result<(), NoRoom> {
        let mut open: Vec<String> = self
            .sessions
            .sessions
            .read()
            .await
            .keys()
            .map(|id| id.to_string())
            .collect();
        // Forget sessions that ended on their own.
        if let Ok(mut book) = self.book.lock() {
            book.retain(|id, _| open.contains(id));
        }
        if let (Some(token), Some(cap)) = (token, self.max_sessions_per_token) {
            let mine: Vec<String> = {
                let book = self.book.lock().map_err(|_| NoRoom::busy())?;
                open.iter()
                    .filter(|id| book.get(*id).is_some_and(|s| s.token == Some(token)))
                    .cloned()
                    .collect()
            };
            if mine.len() >= cap {
                let Some(closed) = self.close_idlest(&mine).await else {
                    return Err(NoRoom {
                        status: StatusCode::TOO_MANY_REQUESTS,
                        message: "this bearer token holds as many MCP sessions as it may, all in use; retry later",
                    });
                };
                open.retain(|id| *id != closed);
            }
        }
        if open.len() < self.max_sessions || self.close_idlest(&open).await.is_some() {
            Ok(())
        } else {
            Err(NoRoom::busy())
        }
    }

    /// Closes the least recently used of `candidates` if it has been idle
    /// long enough; the one closed.
    async fn close_idlest(&self, candidates: &[String]) -> Option<String> {
        let victim = {
            let Ok(book) = self.book.lock() else {
                return None;
            };
            candidates
                .iter()
                .map(|id| (book.get(id).map(|s| s.used), id))
                // A session never seen through the gate counts as idle since ever.
                .min_by_key(|(used, _)| *used)
                .filter(|(used, _)| used.is_none_or(|t| t.elapsed() >= self.evictable_after))
                .map(|(_, id)| id.clone())
        };
        let victim = victim?;
        if let Ok(mut book) = self.book.lock() {
            book.remove(&victim);
        }
        let _ = self
            .sessions
            .close_session(&Arc::from(victim.as_str()))
            .await;
        Some(victim)
    }
}

impl NoRoom {
    fn busy() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "too many open MCP sessions, all in use; retry later",
        }
    }
}

pub(super) async fn serve(
    handler: ToolHandler,
    options: HttpOptions,
) -> Result<HttpServer, McpError> {
    if !options.addr.ip().is_loopback() && !options.beyond_loopback {
        return Err(McpError::Setting(format!(
            "{} is not a loopback address: set HttpOptions::beyond_loopback(true) (with a bearer token and allowed hosts) to serve beyond this machine",
            options.addr
        )));
    }
    if !options.path.starts_with('/') {
        return Err(McpError::Setting(format!(
            "the path `{}` must start with `/`",
            options.path
        )));
    }
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| McpError::Io {
            what: format!("binding {}", options.addr),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| McpError::Io {
        what: "reading the bound address".to_owned(),
        source,
    })?;
    let stop = CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        // A host without a port is allowed on any port.
        .with_allowed_hosts(options.allowed_hosts.clone())
        .with_allowed_origins(options.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(stop.child_token());
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(options.session_idle_timeout);
    let mut sessions = LocalSessionManager::default();
    sessions.session_config = session_config;
    let sessions = Arc::new(sessions);
    let service = StreamableHttpService::new(
        move || Ok(handler.for_session()),
        Arc::clone(&sessions),
        config,
    );
    let gate = Arc::new(Gate {
        service,
        sessions,
        path: options.path.clone(),
        bearer: options.bearer_tokens.clone(),
        max_body_bytes: options.max_body_bytes,
        max_sessions: options.max_sessions,
        max_sessions_per_token: options.max_sessions_per_token,
        body_read_timeout: options.body_read_timeout,
        evictable_after: options.evictable_after,
        book: Mutex::new(HashMap::new()),
        resumes: Arc::default(),
    });
    let header_read_timeout = options.header_read_timeout;
    let stopping = stop.clone();
    let task = tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                () = stopping.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "MCP HTTP server: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let gate = Arc::clone(&gate);
            let stopping = stopping.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let gate = Arc::clone(&gate);
                    async move { Ok::<_, Infallible>(gate.handle(request).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    () = stopping.cancelled() => connection.as_mut().graceful_shutdown(),
                }
            });
        }
    });
    Ok(HttpServer {
        addr,
        path: options.path,
        stop,
        task: Some(task),
    })
}

//! The redirect of an authorization, taken on the loopback redirect URI
//! itself (RFC 8252 §7.3): a one-request HTTP listener, bounded in time,
//! size and connections.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::AuthorizationError;

const STEP: &str = "authorizing";
/// The largest request head read from the browser.
const MAX_HEAD: usize = 8 << 10;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections (favicons, stray tabs) answered before giving up.
const MAX_CONNECTIONS: usize = 32;

/// Listens on `redirect_uri` (an `http://` loopback address with a port),
/// calls `open` with the authorization `url`, and returns the URL the
/// browser was sent back to, within `limit`.
pub(super) async fn receive(
    redirect_uri: &str,
    open: &(dyn Fn(&str) + Send + Sync),
    url: &str,
    limit: Duration,
) -> Result<String, AuthorizationError> {
    let refuse = |why: String| AuthorizationError::new(STEP, why);
    let redirect = Url::parse(redirect_uri)
        .map_err(|e| refuse(format!("the redirect URI `{redirect_uri}`: {e}")))?;
    let host = match redirect.host_str() {
        Some("localhost" | "127.0.0.1") => "127.0.0.1",
        Some("[::1]") => "::1",
        _ => {
            return Err(refuse(format!(
                "the redirect URI `{redirect_uri}` is not a loopback address (http://127.0.0.1:PORT/…) \
                 to listen on"
            )));
        }
    };
    let (Some(port), "http") = (redirect.port(), redirect.scheme()) else {
        return Err(refuse(format!(
            "the redirect URI `{redirect_uri}` needs `http://` and a port to listen on"
        )));
    };
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| refuse(format!("listening on {host}:{port} for the redirect: {e}")))?;
    open(url);
    let wait = async {
        for _ in 0..MAX_CONNECTIONS {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let Some(target) = read_target(&mut socket).await else {
                continue;
            };
            let path = target.split('?').next().unwrap_or_default();
            if path != redirect.path() {
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                continue;
            }
            let page = "<!doctype html><title>Authorized</title><p>Authorization complete: you can close this tab.</p>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            return Ok(format!(
                "{}://{}{target}",
                redirect.scheme(),
                redirect_authority(&redirect)
            ));
        }
        Err(refuse(format!(
            "{MAX_CONNECTIONS} requests reached {redirect_uri} without the redirect"
        )))
    };
    tokio::time::timeout(limit, wait).await.map_err(|_| {
        refuse(format!(
            "the browser did not come back to {redirect_uri} within {limit:?}"
        ))
    })?
}

/// `host:port` of a URL.
fn redirect_authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// The target of a `GET` request (`/callback?code=…`), or `None` for
/// anything else, too large or too slow.
async fn read_target(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.ok()?;
            if n == 0 || head.len().saturating_add(n) > MAX_HEAD {
                return None;
            }
            head.extend_from_slice(buf.get(..n)?);
        }
        Some(())
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok()??;
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next()?.split_whitespace();
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target.to_owned()),
        _ => None,
    }
}

//! The HTTP side of rmcp's streamable-HTTP client with authorization: each
//! request carries the current access token; one the server refuses (401, or
//! 403 with a challenge) is authorized and sent once more.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

use super::discovery::Challenge;
use super::session::Authorization;
use super::{AuthorizationError, McpOAuth};

type HttpError = StreamableHttpError<reqwest::Error>;

/// A `reqwest` client that authorizes its MCP requests.
#[derive(Clone)]
pub(crate) struct AuthorizedHttp {
    http: reqwest::Client,
    authorization: Arc<Authorization>,
}

impl AuthorizedHttp {
    pub(crate) fn new(
        http: reqwest::Client,
        settings: McpOAuth,
        server_url: &str,
    ) -> Result<Self, AuthorizationError> {
        Ok(Self {
            http,
            authorization: Arc::new(Authorization::new(settings, server_url)?),
        })
    }

    /// Sends with the current token; on a refusal, authorizes and sends once
    /// more.
    async fn authorized<T, F, Fut>(&self, send: F) -> Result<T, HttpError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        let token = self.authorization.bearer().await;
        let first = send(token.clone()).await;
        let challenge = match &first {
            Err(StreamableHttpError::AuthRequired(refused)) => {
                Challenge::parse(&refused.www_authenticate_header)
            }
            Err(StreamableHttpError::InsufficientScope(refused)) => {
                Challenge::parse(&refused.www_authenticate_header)
            }
            Ok(_) => {
                self.authorization.succeeded();
                return first;
            }
            Err(_) => return first,
        };
        let token = self
            .authorization
            .authorize(token.as_deref(), &challenge)
            .await
            .map_err(|e| StreamableHttpError::Io(std::io::Error::other(e)))?;
        let second = send(Some(token)).await;
        if second.is_ok() {
            self.authorization.succeeded();
        }
        second
    }
}

impl StreamableHttpClient for AuthorizedHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.authorized(|token| {
            self.http.post_message_with_response_limits(
                Arc::clone(&uri),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        // Ending a session is not worth an authorization: the token held.
        let token = self.authorization.bearer().await;
        self.http
            .delete_session(uri, session_id, token, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        self.get_stream_with_max_sse_event_size(
            uri,
            session_id,
            last_event_id,
            None,
            custom_headers,
            StreamableHttpResponseLimits::default().max_sse_event_size,
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        self.authorized(|token| {
            self.http.get_stream_with_max_sse_event_size(
                Arc::clone(&uri),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}

/// The authorization failure somewhere in `error`'s sources, if any.
pub(crate) fn authorization_error<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e AuthorizationError> {
    let mut cause: Option<&'e (dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<AuthorizationError>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<AuthorizationError>())
        {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

//! OAuth 2.1 for [`McpClient`](super::McpClient) over HTTP, as the MCP
//! specification's authorization section describes it.
//!
//! Hand an [`McpOAuth`] to
//! [`McpHttpClientOptions::oauth`](super::McpHttpClientOptions::oauth) and the
//! client authorizes itself when a server asks (HTTP 401, or 403 with
//! `insufficient_scope`), then retries the request:
//!
//! 1. **Discovery**: the protected resource's metadata (RFC 9728) from the
//!    `resource_metadata` of the server's `WWW-Authenticate` challenge, else
//!    from its well-known paths; its `resource` must name the server asked;
//!    then the authorization server's metadata (RFC 8414 and OpenID Connect
//!    Discovery, path-aware), falling back to `/authorize`, `/token` and
//!    `/register` for servers of the 2025-03-26 revision.
//! 2. **Who the client is**: a client id you registered beforehand
//!    ([`McpOAuth::client_id`]), a client-ID metadata document
//!    ([`McpOAuth::client_metadata_url`]) where the server accepts one, else
//!    dynamic client registration (RFC 7591).
//! 3. **The grant**: authorization code with PKCE (S256) and `state`, the
//!    `resource` indicator (RFC 8707) on every request; client credentials
//!    with a secret or a signed assertion (`private_key_jwt`, ES256); or an
//!    identity assertion from an enterprise identity provider (token exchange,
//!    then the JWT-bearer grant). The client authenticates at the token
//!    endpoint as the server allows (`client_secret_basic`,
//!    `client_secret_post`, `none`).
//! 4. **Scopes**: those the challenge names, else the resource's
//!    `scopes_supported`, else none; `offline_access` added where the
//!    authorization server lists it; a 403 asking for more scope authorizes
//!    again with the union (step-up). At most three authorizations in a row
//!    that the server still refuses, then an error.
//! 5. **Tokens**: refreshed before they expire and on a 401, kept in a
//!    [`TokenStore`] you can replace (to keep them across runs).
//!
//! Everything read from the servers is bounded (bodies 256 KiB, each request
//! 30 s, the user's consent 10 minutes by default); secrets never appear in
//! `Debug` output or errors.
//!
//! ```no_run
//! use typecall::mcp::{McpClient, McpHttpClientOptions, McpOAuth, UserAgent};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Show the user the authorization page; the browser comes back to
//! // the redirect URI, where typecall listens for it.
//! let agent = UserAgent::loopback(|url| println!("Open {url} to authorize"));
//! let oauth = McpOAuth::authorization_code("http://localhost:8976/callback", agent)
//!     .client_name("my agent");
//! let client = McpClient::connect_http_with(
//!     "https://mcp.example.com/mcp",
//!     McpHttpClientOptions::new().oauth(oauth),
//! )
//! .await?;
//! # let _ = client; Ok(()) }
//! ```

mod crypto;
mod discovery;
mod grant;
mod loopback;
mod session;
mod transport;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_core::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub(crate) use transport::{AuthorizedHttp, authorization_error};

/// How a client authorizes itself with an MCP server's authorization server.
///
/// Made with one of the grants ([`authorization_code`](Self::authorization_code),
/// [`client_credentials`](Self::client_credentials),
/// [`client_credentials_jwt`](Self::client_credentials_jwt),
/// [`identity_assertion`](Self::identity_assertion)), then refined. Its
/// `Debug` never shows a secret.
#[derive(Clone)]
pub struct McpOAuth {
    grant: Grant,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    signing_key: Option<Arc<crypto::SigningKey>>,
    client_metadata_url: Option<String>,
    client_name: String,
    scopes: Vec<String>,
    store: Arc<dyn TokenStore>,
    consent_timeout: Duration,
}

#[derive(Clone)]
enum Grant {
    AuthorizationCode {
        redirect_uri: String,
        agent: UserAgent,
    },
    ClientCredentials,
    IdentityAssertion(IdentityAssertion),
}

/// An identity provider's ID token to exchange for access to an MCP server
/// (enterprise-managed authorization, SEP-990): the ID token becomes an
/// identity assertion grant at the identity provider (RFC 8693), which the
/// MCP server's authorization server takes as a JWT-bearer grant (RFC 7523).
#[derive(Clone)]
pub struct IdentityAssertion {
    token_endpoint: String,
    id_token: Secret,
    client_id: String,
}

impl IdentityAssertion {
    /// The identity provider's token endpoint, the user's ID token there,
    /// and this client's id at the identity provider.
    pub fn new(
        token_endpoint: impl Into<String>,
        id_token: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            token_endpoint: token_endpoint.into(),
            id_token: Secret(id_token.into()),
            client_id: client_id.into(),
        }
    }
}

impl fmt::Debug for IdentityAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityAssertion")
            .field("token_endpoint", &self.token_endpoint)
            .field("id_token", &self.id_token)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// How the user visits the authorization page: the OAuth "user agent".
#[derive(Clone)]
#[non_exhaustive]
pub enum UserAgent {
    /// Visit it without a browser and take the redirect it answers with: for
    /// authorization servers that grant without a login page (test servers,
    /// single sign-on already done), and tests.
    Headless,
    /// Your own way (open a browser, listen on the redirect URI, …): given the
    /// authorization URL, the URL the user was sent back to, with its `code`
    /// and `state`; or why not.
    Custom(ConsentFn),
    /// A browser, sent back to the redirect URI, which must be a loopback
    /// address with a port (`http://127.0.0.1:8976/callback`): typecall
    /// listens there for that one request. The function shows the page to
    /// the user (opens a browser, prints the URL).
    Loopback(ShowFn),
}

/// What [`UserAgent::Loopback`] calls with the authorization URL.
pub type ShowFn = Arc<dyn Fn(&str) + Send + Sync>;

/// What [`UserAgent::Custom`] calls.
pub type ConsentFn =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

impl UserAgent {
    /// [`UserAgent::Custom`] from an async closure.
    pub fn custom<F, Fut>(visit: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, String>> + Send + 'static,
    {
        Self::Custom(Arc::new(move |url| Box::pin(visit(url))))
    }

    /// [`UserAgent::Loopback`]: `show` gives the user the authorization URL.
    pub fn loopback(show: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self::Loopback(Arc::new(show))
    }
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Headless => f.write_str("Headless"),
            Self::Custom(_) => f.write_str("Custom(..)"),
            Self::Loopback(_) => f.write_str("Loopback(..)"),
        }
    }
}

impl McpOAuth {
    fn with_grant(grant: Grant) -> Self {
        Self {
            grant,
            client_id: None,
            client_secret: None,
            signing_key: None,
            client_metadata_url: None,
            client_name: "typecall".to_owned(),
            scopes: Vec::new(),
            store: Arc::new(MemoryTokenStore::default()),
            consent_timeout: Duration::from_secs(600),
        }
    }

    /// The authorization code grant with PKCE, for a user: `agent` takes them
    /// to the authorization page, which sends them back to `redirect_uri`.
    pub fn authorization_code(redirect_uri: impl Into<String>, agent: UserAgent) -> Self {
        Self::with_grant(Grant::AuthorizationCode {
            redirect_uri: redirect_uri.into(),
            agent,
        })
    }

    /// The client credentials grant, for a machine: a client registered
    /// beforehand with a secret.
    pub fn client_credentials(client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::with_grant(Grant::ClientCredentials)
            .client_id(client_id)
            .client_secret(secret)
    }

    /// The client credentials grant authenticated with a signed assertion
    /// (`private_key_jwt`): `private_key_pem` is a PKCS#8 PEM holding a P-256
    /// key (ES256) whose public half the authorization server knows.
    ///
    /// # Errors
    /// [`AuthorizationError`] when the key is not such a key.
    pub fn client_credentials_jwt(
        client_id: impl Into<String>,
        private_key_pem: &str,
    ) -> Result<Self, AuthorizationError> {
        let key = crypto::SigningKey::from_pem(private_key_pem)?;
        let mut oauth = Self::with_grant(Grant::ClientCredentials).client_id(client_id);
        oauth.signing_key = Some(Arc::new(key));
        Ok(oauth)
    }

    /// Access granted by an enterprise identity provider (SEP-990): this
    /// client is registered at the MCP server's authorization server as
    /// `client_id` with `secret`.
    pub fn identity_assertion(
        assertion: IdentityAssertion,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self::with_grant(Grant::IdentityAssertion(assertion))
            .client_id(client_id)
            .client_secret(secret)
    }

    /// A client id registered beforehand (no dynamic registration).
    #[must_use]
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The secret of the client id registered beforehand.
    #[must_use]
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(Secret(secret.into()));
        self
    }

    /// The HTTPS URL of this client's metadata document, used as its client
    /// id where the authorization server accepts such documents
    /// (`client_id_metadata_document_supported`) instead of registering.
    #[must_use]
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// The name this client registers under (default `typecall`).
    #[must_use]
    pub fn client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Scopes to ask for besides those the server names.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Where tokens are kept (default: in memory, for this process).
    #[must_use]
    pub fn token_store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// How long the user may take on the authorization page (default 10
    /// minutes).
    #[must_use]
    pub fn consent_timeout(mut self, limit: Duration) -> Self {
        self.consent_timeout = limit;
        self
    }
}

impl fmt::Debug for McpOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grant = match &self.grant {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::IdentityAssertion(_) => "identity_assertion",
        };
        f.debug_struct("McpOAuth")
            .field("grant", &grant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("signing_key", &self.signing_key)
            .field("client_metadata_url", &self.client_metadata_url)
            .field("client_name", &self.client_name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch, now (0 on a clock before it).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A secret: shown as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The tokens (and the client they were issued to) for one MCP server.
/// Serializable, to keep them; its `Debug` shows no token or secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Secret>,
    /// Seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default)]
    scopes: Vec<String>,
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<Secret>,
}

impl OAuthTokens {
    /// The access token.
    pub fn access_token(&self) -> &str {
        &self.access_token.0
    }
    /// Whether a refresh token came with it.
    pub fn refreshable(&self) -> bool {
        self.refresh_token.is_some()
    }
    /// When it expires, in seconds since the Unix epoch, if the server said.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
    /// The scopes granted (as the server said, else as asked).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The client id the tokens were issued to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// Whether it expires within `margin` from now.
    fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= unix_now().saturating_add(margin.as_secs()))
    }
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &self.access_token)
            .field("refreshable", &self.refreshable())
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// Where an [`McpOAuth`] client keeps its tokens, per MCP server URL.
/// Calls are quick and never wait on the network.
pub trait TokenStore: Send + Sync {
    /// The tokens kept for `server`, if any.
    fn load(&self, server: &str) -> Option<OAuthTokens>;
    /// Keeps `tokens` for `server`, replacing what was there.
    fn save(&self, server: &str, tokens: &OAuthTokens);
}

/// A shared store (one store for many clients).
impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn load(&self, server: &str) -> Option<OAuthTokens> {
        (**self).load(server)
    }
    fn save(&self, server: &str, tokens: &OAuthTokens) {
        (**self).save(server, tokens);
    }
}

/// A [`TokenStore`] in memory: tokens last as long as the process.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, OAuthTokens>>,
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, server: &str) -> Option<OAuthTokens> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(server)
            .cloned()
    }
    fn save(&self, server: &str, tokens: &OAuthTokens) {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(server.to_owned(), tokens.clone());
    }
}

/// Authorization with an MCP server failed: which step, and why, in words a
/// person can act on (what the server said, what to configure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OAuth, {step}: {message}")]
pub struct AuthorizationError {
    step: &'static str,
    message: String,
}

impl AuthorizationError {
    pub(crate) fn new(step: &'static str, message: impl Into<String>) -> Self {
        Self {
            step,
            message: message.into(),
        }
    }
    /// The step that failed (`discovering the authorization server`,
    /// `registering the client`, `requesting a token`, …).
    pub fn step(&self) -> &str {
        self.step
    }
    /// Why.
    pub fn message(&self) -> &str {
        &self.message
    }
}

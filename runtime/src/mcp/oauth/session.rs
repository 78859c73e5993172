//! One client's authorization with one MCP server: what was discovered, who
//! the client is, the tokens, and the decisions (refresh, authorize again,
//! give up).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use url::Url;

use super::crypto::{Pkce, random_text};
use super::discovery::{Challenge, Discovered, discover};
use super::grant::{
    Client, authorization_url, code_from_callback, post_form, register, request_token,
};
use super::{AuthorizationError, Grant, McpOAuth, OAuthTokens, Secret, UserAgent};

/// Authorizations in a row the server may refuse before the client stops.
const MAX_REFUSED_ROUNDS: u32 = 3;
/// Tokens are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Each request to an authorization server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The authorization of one client with one MCP server.
pub(super) struct Authorization {
    settings: McpOAuth,
    server_url: String,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
    refused_rounds: AtomicU32,
}

#[derive(Default)]
struct State {
    loaded: bool,
    discovered: Option<Discovered>,
    client: Option<Client>,
    tokens: Option<OAuthTokens>,
}

impl Authorization {
    pub(super) fn new(settings: McpOAuth, server_url: &str) -> Result<Self, AuthorizationError> {
        let http = crate::provider::tls_client_builder()
            .map_err(|e| AuthorizationError::new("preparing", e.to_string()))?
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AuthorizationError::new("preparing", format!("HTTP client: {e}")))?;
        Ok(Self {
            settings,
            server_url: server_url.to_owned(),
            http,
            state: tokio::sync::Mutex::new(State::default()),
            refused_rounds: AtomicU32::new(0),
        })
    }

    /// The access token to send, refreshed first when it is about to expire
    /// and can be; `None` before the first authorization.
    pub(super) async fn bearer(&self) -> Option<String> {
        let mut state = self.state.lock().await;
        if !state.loaded {
            state.loaded = true;
            state.tokens = self.settings.store.load(&self.server_url);
        }
        let tokens = state.tokens.as_ref()?;
        if tokens.expires_within(REFRESH_MARGIN)
            && tokens.refreshable()
            && state.discovered.is_some()
        {
            match self.refresh(&mut state).await {
                Ok(access) => return Some(access),
                Err(e) => tracing::debug!(error = %e, "refreshing an expiring MCP token failed"),
            }
        }
        state.tokens.as_ref().map(|t| t.access_token().to_owned())
    }

    /// A request went through: the count of refused authorizations restarts.
    pub(super) fn succeeded(&self) {
        self.refused_rounds.store(0, Ordering::Relaxed);
    }

    /// The server refused `sent` with `challenge`: a token to retry with
    /// (another request's fresh one, a refreshed one, or a new grant's).
    pub(super) async fn authorize(
        &self,
        sent: Option<&str>,
        challenge: &Challenge,
    ) -> Result<String, AuthorizationError> {
        let mut state = self.state.lock().await;
        if let Some(tokens) = &state.tokens
            && Some(tokens.access_token()) != sent
        {
            return Ok(tokens.access_token().to_owned());
        }
        let round = self.refused_rounds.fetch_add(1, Ordering::Relaxed) + 1;
        if round > MAX_REFUSED_ROUNDS {
            return Err(AuthorizationError::new(
                "authorizing",
                format!(
                    "{} refused {MAX_REFUSED_ROUNDS} authorizations in a row; giving up (it \
                     asks for scope `{}`)",
                    self.server_url,
                    challenge.scope.as_deref().unwrap_or("")
                ),
            ));
        }
        let moved = match &state.discovered {
            None => true,
            Some(d) => {
                challenge.resource_metadata.is_some()
                    && challenge.resource_metadata != d.resource_metadata_url
            }
        };
        if moved {
            let discovered = discover(&self.http, &self.server_url, challenge).await?;
            if state
                .discovered
                .as_ref()
                .is_some_and(|d| d.issuer != discovered.issuer)
            {
                state.client = None;
            }
            state.discovered = Some(discovered);
        }
        let step_up = challenge.error.as_deref() == Some("insufficient_scope");
        if !step_up && state.tokens.as_ref().is_some_and(OAuthTokens::refreshable) {
            match self.refresh(&mut state).await {
                Ok(access) => return Ok(access),
                Err(e) => tracing::debug!(error = %e, "refreshing an MCP token failed"),
            }
        }
        let scopes = self.scopes(&state, challenge, step_up);
        let tokens = self.grant(&mut state, &scopes).await?;
        self.settings.store.save(&self.server_url, &tokens);
        let access = tokens.access_token().to_owned();
        state.tokens = Some(tokens);
        Ok(access)
    }

    /// The scopes to ask for: the challenge's, else the resource's; for a
    /// step-up, with those held already; the user's; `offline_access` where
    /// the server lists it and a user is asked.
    fn scopes(&self, state: &State, challenge: &Challenge, step_up: bool) -> Vec<String> {
        let discovered = state.discovered.as_ref();
        let mut scopes = challenge
            .scopes()
            .or_else(|| discovered.and_then(|d| d.resource_scopes.clone()))
            .unwrap_or_default();
        let mut add = |scope: &str| {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        };
        if step_up && let Some(tokens) = &state.tokens {
            tokens.scopes().iter().for_each(|s| add(s));
        }
        self.settings.scopes.iter().for_each(|s| add(s));
        let offline = discovered
            .and_then(|d| d.server.scopes_supported.as_ref())
            .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
        if offline && matches!(self.settings.grant, Grant::AuthorizationCode { .. }) {
            add("offline_access");
        }
        scopes
    }

    /// Who the client is at the authorization server: as configured, as the
    /// stored tokens say, its metadata document's URL, or newly registered.
    async fn client(
        &self,
        state: &mut State,
        discovered: &Discovered,
        redirect_uri: Option<&str>,
    ) -> Result<Client, AuthorizationError> {
        if let Some(client) = &state.client {
            return Ok(client.clone());
        }
        let key = self.settings.signing_key.as_ref();
        let known = |id: &str, secret: Option<&Secret>| Client {
            id: id.to_owned(),
            secret: secret.cloned(),
            auth: Client::choose_auth(None, secret.is_some(), key, &discovered.server),
        };
        let client = if let Some(id) = &self.settings.client_id {
            known(id, self.settings.client_secret.as_ref())
        } else if let Some(tokens) = &state.tokens {
            known(&tokens.client_id, tokens.client_secret.as_ref())
        } else if let (Some(url), Some(true)) = (
            &self.settings.client_metadata_url,
            discovered.server.client_id_metadata_document_supported,
        ) {
            known(url, None)
        } else if let (Some(endpoint), Some(redirect_uri)) =
            (&discovered.server.registration_endpoint, redirect_uri)
        {
            register(
                &self.http,
                endpoint,
                &self.settings.client_name,
                redirect_uri,
                &discovered.server,
            )
            .await?
        } else {
            return Err(AuthorizationError::new(
                "identifying the client",
                format!(
                    "the authorization server {} offers no client registration: set \
                     McpOAuth::client_id (and client_secret) to a client registered there",
                    discovered.issuer
                ),
            ));
        };
        state.client = Some(client.clone());
        Ok(client)
    }

    /// Runs the configured grant.
    async fn grant(
        &self,
        state: &mut State,
        scopes: &[String],
    ) -> Result<OAuthTokens, AuthorizationError> {
        let Some(d) = state.discovered.clone() else {
            return Err(AuthorizationError::new(
                "authorizing",
                "nothing discovered about the authorization server",
            ));
        };
        let token_endpoint = d.server.token_endpoint.clone().ok_or_else(|| {
            AuthorizationError::new(
                "discovering the authorization server",
                format!("the metadata of {} names no token endpoint", d.issuer),
            )
        })?;
        let scope_field = || (!scopes.is_empty()).then(|| ("scope", scopes.join(" ")));
        match &self.settings.grant {
            Grant::AuthorizationCode {
                redirect_uri,
                agent,
            } => {
                let s256 = d
                    .server
                    .code_challenge_methods_supported
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|m| m == "S256"));
                if d.server_metadata_found && !s256 {
                    return Err(AuthorizationError::new(
                        "authorizing",
                        format!(
                            "the authorization server {} does not list PKCE with S256 \
                             (code_challenge_methods_supported), which MCP requires",
                            d.issuer
                        ),
                    ));
                }
                let endpoint = d.server.authorization_endpoint.clone().ok_or_else(|| {
                    AuthorizationError::new(
                        "discovering the authorization server",
                        format!(
                            "the metadata of {} names no authorization endpoint",
                            d.issuer
                        ),
                    )
                })?;
                let client = self.client(state, &d, Some(redirect_uri)).await?;
                let pkce = Pkce::new()?;
                let request = authorization_url(
                    &endpoint,
                    &client.id,
                    redirect_uri,
                    &pkce.challenge,
                    scopes,
                    &d.resource,
                    random_text(16)?,
                )?;
                let callback = self.visit(agent, &request.url, redirect_uri).await?;
                let code = code_from_callback(&callback, &request, d.server.issuer.as_deref())?;
                let form = vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", redirect_uri.clone()),
                    ("code_verifier", pkce.verifier),
                    ("resource", d.resource.clone()),
                ];
                request_token(&self.http, &token_endpoint, &client, &d.issuer, form)
                    .await?
                    .into_tokens(&client, scopes, None)
            }
            Grant::ClientCredentials => {
                let client = self.client(state, &d, None).await?;
                let mut form = vec![
                    ("grant_type", "client_credentials".to_owned()),
                    ("resource", d.resource.clone()),
                ];
                form.extend(scope_field());
                request_token(&self.http, &token_endpoint, &client, &d.issuer, form)
                    .await?
                    .into_tokens(&client, scopes, None)
            }
            Grant::IdentityAssertion(assertion) => {
                let client = self.client(state, &d, None).await?;
                // RFC 8693 at the identity provider: the ID token for an
                // identity assertion grant naming this resource.
                let mut exchange = vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
                    ),
                    (
                        "requested_token_type",
                        "urn:ietf:params:oauth:token-type:id-jag".to_owned(),
                    ),
                    ("audience", d.issuer.clone()),
                    ("resource", d.resource.clone()),
                    ("subject_token", assertion.id_token.0.clone()),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:id_token".to_owned(),
                    ),
                    ("client_id", assertion.client_id.clone()),
                ];
                exchange.extend(scope_field());
                let grant = post_form(
                    self.http.post(&assertion.token_endpoint),
                    &assertion.token_endpoint,
                    &exchange,
                )
                .await?
                .access_token;
                // RFC 7523 at the MCP server's authorization server.
                let mut form = vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                    ),
                    ("assertion", grant),
                ];
                form.extend(scope_field());
                request_token(&self.http, &token_endpoint, &client, &d.issuer, form)
                    .await?
                    .into_tokens(&client, scopes, None)
            }
        }
    }

    /// Exchanges the refresh token for a new access token.
    async fn refresh(&self, state: &mut State) -> Result<String, AuthorizationError> {
        let (Some(d), Some(tokens)) = (state.discovered.clone(), state.tokens.clone()) else {
            return Err(AuthorizationError::new("refreshing", "nothing to refresh"));
        };
        let Some(refresh) = tokens.refresh_token.clone() else {
            return Err(AuthorizationError::new("refreshing", "no refresh token"));
        };
        let endpoint = d.server.token_endpoint.clone().ok_or_else(|| {
            AuthorizationError::new("refreshing", format!("{} has no token endpoint", d.issuer))
        })?;
        let client = match &state.client {
            Some(client) => client.clone(),
            None => Client {
                id: tokens.client_id.clone(),
                secret: tokens.client_secret.clone(),
                auth: Client::choose_auth(
                    None,
                    tokens.client_secret.is_some(),
                    self.settings.signing_key.as_ref(),
                    &d.server,
                ),
            },
        };
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.0.clone()),
            ("resource", d.resource.clone()),
        ];
        let fresh = request_token(&self.http, &endpoint, &client, &d.issuer, form)
            .await?
            .into_tokens(&client, tokens.scopes(), Some(refresh))?;
        self.settings.store.save(&self.server_url, &fresh);
        let access = fresh.access_token().to_owned();
        state.tokens = Some(fresh);
        Ok(access)
    }

    /// Takes the user to the authorization page; the URL they come back to.
    async fn visit(
        &self,
        agent: &UserAgent,
        url: &str,
        redirect_uri: &str,
    ) -> Result<String, AuthorizationError> {
        const STEP: &str = "authorizing";
        match agent {
            UserAgent::Headless => {
                let response = self.http.get(url).send().await.map_err(|e| {
                    AuthorizationError::new(STEP, format!("GET the authorization page: {e}"))
                })?;
                let status = response.status();
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok());
                match location {
                    Some(location) if status.is_redirection() => Url::parse(url)
                        .and_then(|base| base.join(location))
                        .map(String::from)
                        .map_err(|e| {
                            AuthorizationError::new(STEP, format!("the redirect `{location}`: {e}"))
                        }),
                    _ => Err(AuthorizationError::new(
                        STEP,
                        format!(
                            "the authorization page answered HTTP {status} without a redirect: \
                             it needs a person (use UserAgent::Custom to open a browser)"
                        ),
                    )),
                }
            }
            UserAgent::Loopback(show) => {
                super::loopback::receive(
                    redirect_uri,
                    show.as_ref(),
                    url,
                    self.settings.consent_timeout,
                )
                .await
            }
            UserAgent::Custom(visit) => {
                match tokio::time::timeout(self.settings.consent_timeout, visit(url.to_owned()))
                    .await
                {
                    Ok(Ok(callback)) => Ok(callback),
                    Ok(Err(why)) => Err(AuthorizationError::new(STEP, why)),
                    Err(_) => Err(AuthorizationError::new(
                        STEP,
                        format!(
                            "no answer from the authorization page within {:?}",
                            self.settings.consent_timeout
                        ),
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::mcp::oauth::{MemoryTokenStore, TokenStore};

    /// A loopback authorization server for this module's decisions: its
    /// answers come from `answer(base_url, method, path, body)`; every
    /// request is kept.
    async fn authorization_server(
        answer: impl Fn(&str, &str, &str, &str) -> (u16, String) + Send + Sync + 'static,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&seen);
        let answer = Arc::new(answer);
        let own = base.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                // Head, then as much body as content-length says.
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&raw).to_string();
                let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                kept.lock().unwrap().push(format!("{method} {path} {body}"));
                let (status, json) = answer(&own, method, path, body);
                // A redirect's body is where it points.
                let response = if status == 302 {
                    format!(
                        "HTTP/1.1 302 Found\r\nlocation: {json}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                } else {
                    format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                        json.len()
                    )
                };
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        (base, seen)
    }

    fn metadata_and_tokens(base: &str, _method: &str, path: &str, body: &str) -> (u16, String) {
        match path {
            "/.well-known/oauth-protected-resource/mcp" => (
                200,
                format!(r#"{{"resource":"{base}/mcp","authorization_servers":["{base}"]}}"#),
            ),
            "/.well-known/oauth-authorization-server" => (
                200,
                format!(
                    r#"{{"issuer":"{base}","token_endpoint":"{base}/token","token_endpoint_auth_methods_supported":["client_secret_post"]}}"#
                ),
            ),
            "/token" if body.contains("grant_type=client_credentials") => (
                200,
                r#"{"access_token":"a1","token_type":"Bearer","expires_in":5,"refresh_token":"r1"}"#
                    .to_owned(),
            ),
            "/token" if body.contains("grant_type=refresh_token&refresh_token=r1") => (
                200,
                r#"{"access_token":"a2","token_type":"Bearer","expires_in":3600}"#.to_owned(),
            ),
            _ => (404, "{}".to_owned()),
        }
    }

    #[tokio::test]
    async fn an_expiring_token_is_refreshed_and_kept_and_refusals_are_bounded() {
        let (base2, seen) = authorization_server(metadata_and_tokens).await;

        let store = Arc::new(MemoryTokenStore::default());
        let server = format!("{base2}/mcp");
        let oauth =
            McpOAuth::client_credentials("machine", "s3cret").token_store(Arc::clone(&store));
        let auth = Authorization::new(oauth.clone(), &server).unwrap();
        assert_eq!(
            auth.bearer().await,
            None,
            "nothing before the first challenge"
        );
        let challenge = Challenge::parse(&format!(
            r#"Bearer resource_metadata="{base2}/.well-known/oauth-protected-resource/mcp""#
        ));
        assert_eq!(auth.authorize(None, &challenge).await.unwrap(), "a1");
        // a1 expires within the margin: the next request refreshes first.
        assert_eq!(auth.bearer().await.as_deref(), Some("a2"));
        let kept = store.load(&server).unwrap();
        assert_eq!(kept.access_token(), "a2");
        assert!(
            kept.refreshable(),
            "the refresh token is kept when none comes back"
        );
        {
            let seen = seen.lock().unwrap();
            let token_requests: Vec<&String> = seen
                .iter()
                .filter(|r| r.starts_with("POST /token"))
                .collect();
            assert_eq!(token_requests.len(), 2, "{seen:#?}");
            assert!(token_requests[0].contains("client_secret=s3cret"));
            assert!(token_requests[0].contains(&format!(
                "resource={}",
                url::form_urlencoded::byte_serialize(server.as_bytes()).collect::<String>()
            )));
        }

        // Another client with the same store starts with the kept token.
        let again = Authorization::new(oauth, &server).unwrap();
        assert_eq!(again.bearer().await.as_deref(), Some("a2"));

        // A server that refuses every token: three authorizations, then an
        // error that says so; a request that goes through starts the count
        // again.
        auth.succeeded();
        let mut sent = Some("a2".to_owned());
        for _ in 0..3 {
            sent = Some(auth.authorize(sent.as_deref(), &challenge).await.unwrap());
        }
        let e = auth
            .authorize(sent.as_deref(), &challenge)
            .await
            .unwrap_err();
        assert!(e.message().contains("3 authorizations in a row"), "{e}");
        auth.succeeded();
        assert!(auth.authorize(sent.as_deref(), &challenge).await.is_ok());
    }

    #[tokio::test]
    async fn a_browser_sent_back_to_the_loopback_redirect_completes_the_grant() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let (base, seen) = authorization_server(|base, _, path, body| {
            let route = path.split('?').next().unwrap_or_default();
            match route {
                "/.well-known/oauth-protected-resource/mcp" => (
                    200,
                    format!(r#"{{"resource":"{base}/mcp","authorization_servers":["{base}"]}}"#),
                ),
                "/.well-known/oauth-authorization-server" => (
                    200,
                    format!(
                        r#"{{"issuer":"{base}","authorization_endpoint":"{base}/authorize","token_endpoint":"{base}/token","code_challenge_methods_supported":["S256"]}}"#
                    ),
                ),
                "/authorize" => {
                    let url = url::Url::parse(&format!("http://x{path}")).unwrap();
                    let q = |k: &str| {
                        url.query_pairs()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default()
                    };
                    (
                        302,
                        format!("{}?code=the-code&state={}", q("redirect_uri"), q("state")),
                    )
                }
                "/token" if body.contains("code=the-code") => (
                    200,
                    r#"{"access_token":"from-the-browser","token_type":"bearer"}"#.to_owned(),
                ),
                _ => (404, "{}".to_owned()),
            }
        })
        .await;
        // The "browser": opens the page and follows its redirect.
        let browser = crate::provider::tls_client_builder()
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let agent = UserAgent::loopback(move |url| {
            let (browser, url) = (browser.clone(), url.to_owned());
            tokio::spawn(async move {
                let page = browser.get(&url).send().await.unwrap();
                let back = page.headers()["location"].to_str().unwrap().to_owned();
                let done = browser.get(&back).send().await.unwrap();
                assert!(
                    done.text()
                        .await
                        .unwrap()
                        .contains("you can close this tab")
                );
            });
        });
        let oauth = McpOAuth::authorization_code(&redirect, agent)
            .client_id("registered")
            .consent_timeout(Duration::from_secs(10));
        let server = format!("{base}/mcp");
        let auth = Authorization::new(oauth, &server).unwrap();
        let challenge = Challenge::parse(&format!(
            r#"Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp""#
        ));
        assert_eq!(
            auth.authorize(None, &challenge).await.unwrap(),
            "from-the-browser"
        );
        {
            let seen = seen.lock().unwrap();
            let token = seen.iter().find(|r| r.starts_with("POST /token")).unwrap();
            assert!(token.contains("code_verifier="), "PKCE: {token}");
        }

        // A redirect URI that is not loopback is refused before anything is opened.
        let opened = Arc::new(Mutex::new(false));
        let flag = Arc::clone(&opened);
        let far = McpOAuth::authorization_code(
            "https://app.example.com/callback",
            UserAgent::loopback(move |_| *flag.lock().unwrap() = true),
        )
        .client_id("registered");
        let e = Authorization::new(far, &server)
            .unwrap()
            .authorize(None, &challenge)
            .await
            .unwrap_err();
        assert!(e.message().contains("not a loopback address"), "{e}");
        assert!(!*opened.lock().unwrap());
    }
}

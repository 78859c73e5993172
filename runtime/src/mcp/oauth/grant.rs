//! The requests to an authorization server: registering a client (RFC 7591),
//! the authorization request and its callback, and token requests with the
//! client's authentication.

use std::sync::Arc;

use serde::Deserialize;
use url::Url;
use url::form_urlencoded;

use super::crypto::SigningKey;
use super::discovery::ServerMetadata;
use super::{AuthorizationError, OAuthTokens, Secret};

/// Largest body read from an authorization server.
const MAX_BODY: usize = 256 << 10;

/// Reads a body up to [`MAX_BODY`].
pub(super) async fn read_bounded(
    response: reqwest::Response,
    step: &'static str,
) -> Result<Vec<u8>, AuthorizationError> {
    let (body, complete) = crate::provider::read_capped(response, MAX_BODY)
        .await
        .map_err(|e| AuthorizationError::new(step, format!("reading the answer: {e}")))?;
    if !complete {
        return Err(AuthorizationError::new(
            step,
            format!("the answer is larger than {} KiB", MAX_BODY >> 10),
        ));
    }
    Ok(body)
}

/// How the client proves who it is at the token endpoint.
#[derive(Debug, Clone)]
pub(super) enum ClientAuth {
    /// A public client: its id in the form.
    None,
    /// `client_secret_basic`: id and secret in an HTTP Basic header.
    Basic,
    /// `client_secret_post`: id and secret in the form.
    Post,
    /// `private_key_jwt`: a signed assertion in the form.
    PrivateKeyJwt(Arc<SigningKey>),
}

/// A client known to the authorization server.
#[derive(Debug, Clone)]
pub(super) struct Client {
    pub(super) id: String,
    pub(super) secret: Option<Secret>,
    pub(super) auth: ClientAuth,
}

impl Client {
    /// The authentication to use: the one named (at registration), else what
    /// the server supports for what the client holds.
    pub(super) fn choose_auth(
        named: Option<&str>,
        has_secret: bool,
        key: Option<&Arc<SigningKey>>,
        server: &ServerMetadata,
    ) -> ClientAuth {
        if let Some(key) = key {
            return ClientAuth::PrivateKeyJwt(Arc::clone(key));
        }
        let pick = |name: &str| match name {
            "client_secret_basic" if has_secret => Some(ClientAuth::Basic),
            "client_secret_post" if has_secret => Some(ClientAuth::Post),
            "none" => Some(ClientAuth::None),
            _ => None,
        };
        if let Some(auth) = named.and_then(pick) {
            return auth;
        }
        if !has_secret {
            return ClientAuth::None;
        }
        match &server.token_endpoint_auth_methods_supported {
            // RFC 8414: absent means `client_secret_basic`.
            None => ClientAuth::Basic,
            Some(methods) => ["client_secret_basic", "client_secret_post", "none"]
                .into_iter()
                .filter(|m| methods.iter().any(|s| s == m))
                .find_map(pick)
                .unwrap_or(ClientAuth::Basic),
        }
    }
}

const REGISTERING: &str = "registering the client";

/// Registers a client for the authorization code grant (RFC 7591).
pub(super) async fn register(
    http: &reqwest::Client,
    endpoint: &str,
    client_name: &str,
    redirect_uri: &str,
    server: &ServerMetadata,
) -> Result<Client, AuthorizationError> {
    // A public client where the server allows it (PKCE protects the code).
    let wanted = server
        .token_endpoint_auth_methods_supported
        .as_ref()
        .and_then(|methods| {
            ["none", "client_secret_basic", "client_secret_post"]
                .into_iter()
                .find(|m| methods.iter().any(|s| s == m))
        });
    /// A registration request (RFC 7591 §2), the fields sent.
    #[derive(serde::Serialize)]
    struct Registration<'a> {
        client_name: &'a str,
        redirect_uris: [&'a str; 1],
        grant_types: [&'static str; 2],
        response_types: [&'static str; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        token_endpoint_auth_method: Option<&'static str>,
    }
    let body = Registration {
        client_name,
        redirect_uris: [redirect_uri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: wanted,
    };
    let response = http
        .post(endpoint)
        .json(&body)
        .send()
        .await
        .map_err(|e| AuthorizationError::new(REGISTERING, format!("POST {endpoint}: {e}")))?;
    let status = response.status();
    let answer = read_bounded(response, REGISTERING).await?;
    if !status.is_success() {
        return Err(AuthorizationError::new(
            REGISTERING,
            format!(
                "the authorization server refused (HTTP {status}): {}",
                refusal(&answer)
            ),
        ));
    }
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        #[serde(default)]
        client_secret: Option<String>,
        #[serde(default)]
        token_endpoint_auth_method: Option<String>,
    }
    let registered: Registered = serde_json::from_slice(&answer).map_err(|e| {
        AuthorizationError::new(REGISTERING, format!("not a registration answer: {e}"))
    })?;
    let auth = Client::choose_auth(
        registered.token_endpoint_auth_method.as_deref(),
        registered.client_secret.is_some(),
        None,
        server,
    );
    Ok(Client {
        id: registered.client_id,
        secret: registered.client_secret.map(Secret),
        auth,
    })
}

/// An authorization request under way: what its callback is checked against.
pub(super) struct AuthorizationRequest {
    pub(super) url: String,
    pub(super) state: String,
}

/// The URL of an authorization request (authorization code with PKCE).
pub(super) fn authorization_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    scopes: &[String],
    resource: &str,
    state: String,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let mut url = Url::parse(endpoint).map_err(|e| {
        AuthorizationError::new(
            "authorizing",
            format!("the authorization endpoint `{endpoint}`: {e}"),
        )
    })?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("resource", resource);
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
    }
    Ok(AuthorizationRequest {
        url: url.into(),
        state,
    })
}

/// The code from the URL the user was sent back to, once its `state` (and
/// `iss`, where given, RFC 9207) match the request's.
pub(super) fn code_from_callback(
    callback: &str,
    request: &AuthorizationRequest,
    issuer: Option<&str>,
) -> Result<String, AuthorizationError> {
    const STEP: &str = "authorizing";
    let url = Url::parse(callback).map_err(|e| {
        AuthorizationError::new(STEP, format!("the callback URL `{callback}`: {e}"))
    })?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        let description = param("error_description").unwrap_or_default();
        return Err(AuthorizationError::new(
            STEP,
            format!("the authorization server refused: {error} {description}")
                .trim_end()
                .to_owned(),
        ));
    }
    if param("state").as_deref() != Some(request.state.as_str()) {
        return Err(AuthorizationError::new(
            STEP,
            "the callback's `state` is not the request's: refusing its code",
        ));
    }
    if let (Some(got), Some(expected)) = (param("iss"), issuer)
        && got.trim_end_matches('/') != expected.trim_end_matches('/')
    {
        return Err(AuthorizationError::new(
            STEP,
            format!("the callback comes from issuer `{got}`, not `{expected}`"),
        ));
    }
    param("code").ok_or_else(|| AuthorizationError::new(STEP, "the callback carries no `code`"))
}

const REQUESTING: &str = "requesting a token";

/// A token request: `form` plus the client's authentication; `audience` is
/// the issuer a signed assertion is for.
pub(super) async fn request_token(
    http: &reqwest::Client,
    endpoint: &str,
    client: &Client,
    audience: &str,
    mut form: Vec<(&'static str, String)>,
) -> Result<TokenAnswer, AuthorizationError> {
    let mut request = http.post(endpoint);
    match &client.auth {
        ClientAuth::None => form.push(("client_id", client.id.clone())),
        ClientAuth::Basic => {
            let secret = client.secret.as_ref().map_or("", |s| s.0.as_str());
            // RFC 6749 §2.3.1: each form-encoded, then joined.
            let pair = format!(
                "{}:{}",
                form_urlencoded::byte_serialize(client.id.as_bytes()).collect::<String>(),
                form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
            );
            request = request.header(
                "authorization",
                format!("Basic {}", crate::chat::base64(pair.as_bytes())),
            );
        }
        ClientAuth::Post => {
            form.push(("client_id", client.id.clone()));
            if let Some(secret) = &client.secret {
                form.push(("client_secret", secret.0.clone()));
            }
        }
        ClientAuth::PrivateKeyJwt(key) => {
            form.push(("client_id", client.id.clone()));
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ));
            form.push(("client_assertion", key.assertion(&client.id, audience)?));
        }
    }
    post_form(request, endpoint, &form).await
}

/// The fields of a token answer that are used.
#[derive(Debug, Deserialize)]
pub(super) struct TokenAnswer {
    pub(super) access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenAnswer {
    /// The tokens, for `client`, with the scopes asked for where the server
    /// does not say which it granted.
    pub(super) fn into_tokens(
        self,
        client: &Client,
        asked: &[String],
        kept_refresh: Option<Secret>,
    ) -> Result<OAuthTokens, AuthorizationError> {
        if let Some(kind) = &self.token_type
            && !kind.eq_ignore_ascii_case("bearer")
            && !kind.eq_ignore_ascii_case("n_a")
        {
            return Err(AuthorizationError::new(
                REQUESTING,
                format!("the token is of type `{kind}`; only bearer tokens are supported"),
            ));
        }
        // A number, or a string of digits; anything else is no expiry.
        let lifetime = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        let now = super::unix_now();
        Ok(OAuthTokens {
            access_token: Secret(self.access_token),
            refresh_token: self.refresh_token.map(Secret).or(kept_refresh),
            expires_at: lifetime.map(|s| now.saturating_add(s)),
            scopes: self.scope.map_or_else(
                || asked.to_vec(),
                |s| s.split_whitespace().map(str::to_owned).collect(),
            ),
            client_id: client.id.clone(),
            client_secret: client.secret.clone(),
        })
    }
}

/// POSTs a form and reads a token answer.
pub(super) async fn post_form(
    request: reqwest::RequestBuilder,
    endpoint: &str,
    form: &[(&'static str, String)],
) -> Result<TokenAnswer, AuthorizationError> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let response = request
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| AuthorizationError::new(REQUESTING, format!("POST {endpoint}: {e}")))?;
    let status = response.status();
    let answer = read_bounded(response, REQUESTING).await?;
    if !status.is_success() {
        return Err(AuthorizationError::new(
            REQUESTING,
            format!("{endpoint} refused (HTTP {status}): {}", refusal(&answer)),
        ));
    }
    serde_json::from_slice(&answer).map_err(|e| {
        AuthorizationError::new(REQUESTING, format!("{endpoint}: not a token answer: {e}"))
    })
}

/// An OAuth error body in words: `error: description`, else the start of the
/// body.
fn refusal(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(r) => match r.error_description {
            Some(d) => format!("{}: {d}", r.error),
            None => r.error,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(methods: Option<&[&str]>) -> ServerMetadata {
        ServerMetadata {
            token_endpoint_auth_methods_supported: methods
                .map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            ..ServerMetadata::default()
        }
    }

    #[test]
    fn the_client_authenticates_as_named_else_as_the_server_supports() {
        let basic = metadata(Some(&["client_secret_basic"]));
        let post = metadata(Some(&["client_secret_post"]));
        assert!(matches!(
            Client::choose_auth(Some("client_secret_post"), true, None, &basic),
            ClientAuth::Post
        ));
        assert!(matches!(
            Client::choose_auth(None, true, None, &post),
            ClientAuth::Post
        ));
        assert!(matches!(
            Client::choose_auth(None, true, None, &metadata(None)),
            ClientAuth::Basic
        ));
        assert!(matches!(
            Client::choose_auth(None, false, None, &basic),
            ClientAuth::None
        ));
    }

    #[test]
    fn a_callback_gives_its_code_only_with_the_right_state_and_issuer() {
        let request = authorization_url(
            "http://as/authorize",
            "c",
            "http://localhost/cb",
            "ch",
            &["a".to_owned(), "b".to_owned()],
            "http://rs/mcp",
            "s1".to_owned(),
        )
        .unwrap();
        assert!(request.url.contains("scope=a+b"), "{}", request.url);
        assert!(request.url.contains("resource=http%3A%2F%2Frs%2Fmcp"));
        let ok = code_from_callback("http://localhost/cb?code=X&state=s1", &request, None);
        assert_eq!(ok.unwrap(), "X");
        let e =
            code_from_callback("http://localhost/cb?code=X&state=s2", &request, None).unwrap_err();
        assert!(e.message().contains("state"), "{e}");
        let e = code_from_callback(
            "http://localhost/cb?code=X&state=s1&iss=http://evil",
            &request,
            Some("http://as"),
        )
        .unwrap_err();
        assert!(e.message().contains("issuer"), "{e}");
        let e = code_from_callback(
            "http://localhost/cb?error=access_denied&error_description=no&state=s1",
            &request,
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "the authorization server refused: access_denied no"
        );
    }

    #[test]
    fn a_token_answer_reads_its_lifetime_fallibly_and_refuses_other_types() {
        let client = Client {
            id: "c".into(),
            secret: None,
            auth: ClientAuth::None,
        };
        let answer: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"t","token_type":"bearer","expires_in":"nonsense"}"#,
        )
        .unwrap();
        let tokens = answer.into_tokens(&client, &["s".into()], None).unwrap();
        assert_eq!(tokens.expires_at(), None);
        assert_eq!(tokens.scopes(), ["s"]);
        let answer: TokenAnswer =
            serde_json::from_str(r#"{"access_token":"t","token_type":"DPoP"}"#).unwrap();
        assert!(answer.into_tokens(&client, &[], None).is_err());
        assert_eq!(
            refusal(br#"{"error":"invalid_client","error_description":"bad"}"#),
            "invalid_client: bad"
        );
    }
}

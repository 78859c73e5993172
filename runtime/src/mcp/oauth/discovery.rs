//! Finding the authorization server: the server's `WWW-Authenticate`
//! challenge, the protected resource's metadata (RFC 9728) and the
//! authorization server's (RFC 8414, OpenID Connect Discovery).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::AuthorizationError;
use super::grant::read_bounded;

/// What a `WWW-Authenticate: Bearer …` challenge asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub(super) resource_metadata: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) error: Option<String>,
}

impl Challenge {
    /// Reads the parameters of a challenge (`Bearer k="v", k2=v2`); unknown
    /// ones are skipped, a malformed rest ends the reading.
    pub(super) fn parse(header: &str) -> Self {
        let mut out = Self::default();
        let rest = header.trim_start();
        // The scheme, then its parameters.
        let mut rest = match rest.split_once(char::is_whitespace) {
            Some((_, params)) => params,
            None => "",
        };
        loop {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            let Some((name, after)) = rest.split_once('=') else {
                break;
            };
            let name = name.trim().to_ascii_lowercase();
            let after = after.trim_start();
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                let Some(end) = end else { break };
                (value, &quoted[end..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            match name.as_str() {
                "resource_metadata" => out.resource_metadata = Some(value),
                "scope" => out.scope = Some(value),
                "error" => out.error = Some(value),
                _ => {}
            }
            rest = next;
        }
        out
    }

    /// The scopes it names, if any.
    pub(super) fn scopes(&self) -> Option<Vec<String>> {
        let scopes: Vec<String> = self
            .scope
            .as_deref()?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        (!scopes.is_empty()).then_some(scopes)
    }
}

/// A protected resource's metadata (RFC 9728), the fields used.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ResourceMetadata {
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    authorization_servers: Vec<String>,
    #[serde(default)]
    pub(super) scopes_supported: Option<Vec<String>>,
}

/// An authorization server's metadata (RFC 8414), the fields used.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ServerMetadata {
    #[serde(default)]
    pub(super) issuer: Option<String>,
    #[serde(default)]
    pub(super) authorization_endpoint: Option<String>,
    #[serde(default)]
    pub(super) token_endpoint: Option<String>,
    #[serde(default)]
    pub(super) registration_endpoint: Option<String>,
    #[serde(default)]
    pub(super) scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(super) code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(super) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(super) client_id_metadata_document_supported: Option<bool>,
}

/// Everything discovery found for one MCP server.
#[derive(Debug, Clone)]
pub(super) struct Discovered {
    /// Where the resource metadata was read (`None`: the server has none).
    pub(super) resource_metadata_url: Option<String>,
    /// The `resource` indicator sent with every request (RFC 8707).
    pub(super) resource: String,
    /// The resource's `scopes_supported`.
    pub(super) resource_scopes: Option<Vec<String>>,
    /// The authorization server's metadata, or the 2025-03-26 defaults.
    pub(super) server: ServerMetadata,
    /// Whether `server` was read (not the defaults).
    pub(super) server_metadata_found: bool,
    /// The authorization server's issuer (the audience of assertions).
    pub(super) issuer: String,
}

const DISCOVERY: &str = "discovering the authorization server";

/// Finds the authorization server for the MCP server at `server_url`, given
/// its challenge.
pub(super) async fn discover(
    http: &reqwest::Client,
    server_url: &str,
    challenge: &Challenge,
) -> Result<Discovered, AuthorizationError> {
    let server = Url::parse(server_url).map_err(|e| {
        AuthorizationError::new(DISCOVERY, format!("the server URL `{server_url}`: {e}"))
    })?;
    let mut candidates = Vec::new();
    if let Some(url) = &challenge.resource_metadata {
        candidates.push(url.clone());
    } else {
        let path = server.path().trim_end_matches('/');
        if !path.is_empty() {
            candidates.push(well_known(&server, "oauth-protected-resource", path));
        }
        candidates.push(well_known(&server, "oauth-protected-resource", ""));
    }
    let mut found = None;
    for url in candidates {
        if let Some(meta) = get_json::<ResourceMetadata>(http, &url).await? {
            found = Some((url, meta));
            break;
        }
    }
    let (resource_metadata_url, resource, resource_scopes, server_base) = match found {
        Some((url, meta)) => {
            let resource = match meta.resource {
                Some(resource) => {
                    if !resource_covers(&resource, &server) {
                        return Err(AuthorizationError::new(
                            DISCOVERY,
                            format!(
                                "the resource metadata at {url} is for `{resource}`, not for \
                                 {server_url}: refusing to send credentials for it"
                            ),
                        ));
                    }
                    resource
                }
                None => canonical(&server),
            };
            let Some(issuer) = meta.authorization_servers.first() else {
                return Err(AuthorizationError::new(
                    DISCOVERY,
                    format!("the resource metadata at {url} names no authorization server"),
                ));
            };
            (Some(url), resource, meta.scopes_supported, issuer.clone())
        }
        // A server of the 2025-03-26 revision: its origin is its
        // authorization server.
        None => (None, canonical(&server), None, origin(&server)),
    };
    let issuer_url = Url::parse(&server_base).map_err(|e| {
        AuthorizationError::new(
            DISCOVERY,
            format!("the authorization server URL `{server_base}`: {e}"),
        )
    })?;
    let path = issuer_url.path().trim_end_matches('/').to_owned();
    let metadata_urls = if path.is_empty() {
        vec![
            well_known(&issuer_url, "oauth-authorization-server", ""),
            well_known(&issuer_url, "openid-configuration", ""),
        ]
    } else {
        vec![
            well_known(&issuer_url, "oauth-authorization-server", &path),
            well_known(&issuer_url, "openid-configuration", &path),
            format!(
                "{}{path}/.well-known/openid-configuration",
                origin(&issuer_url)
            ),
        ]
    };
    let base = server_base.trim_end_matches('/').to_owned();
    for url in metadata_urls {
        if let Some(server) = get_json::<ServerMetadata>(http, &url).await? {
            return Ok(Discovered {
                resource_metadata_url,
                resource,
                resource_scopes,
                issuer: server.issuer.clone().unwrap_or_else(|| base.clone()),
                server,
                server_metadata_found: true,
            });
        }
    }
    // No metadata: the default endpoints of the 2025-03-26 revision.
    Ok(Discovered {
        resource_metadata_url,
        resource,
        resource_scopes,
        server: ServerMetadata {
            authorization_endpoint: Some(format!("{base}/authorize")),
            token_endpoint: Some(format!("{base}/token")),
            registration_endpoint: Some(format!("{base}/register")),
            ..ServerMetadata::default()
        },
        server_metadata_found: false,
        issuer: base,
    })
}

/// `scheme://host[:port]`.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The URL without its fragment (RFC 8707's canonical resource).
fn canonical(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.to_string()
}

/// `origin/.well-known/{name}{path}`.
fn well_known(url: &Url, name: &str, path: &str) -> String {
    format!("{}/.well-known/{name}{path}", origin(url))
}

/// Whether the resource a metadata document names covers `server`: the same
/// origin, and a path that is a prefix of the server's.
fn resource_covers(resource: &str, server: &Url) -> bool {
    let Ok(resource) = Url::parse(resource) else {
        return false;
    };
    if resource.origin() != server.origin() {
        return false;
    }
    let claimed = resource.path().trim_end_matches('/');
    let asked = server.path().trim_end_matches('/');
    asked == claimed || asked.starts_with(&format!("{claimed}/"))
}

/// GETs a JSON document: `None` when the server has none there (4xx).
async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<T>, AuthorizationError> {
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| AuthorizationError::new(DISCOVERY, format!("GET {url}: {e}")))?;
    let status = response.status();
    if status.is_client_error() {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(AuthorizationError::new(
            DISCOVERY,
            format!("GET {url}: HTTP {status}"),
        ));
    }
    let body = read_bounded(response, DISCOVERY).await?;
    serde_json::from_slice(&body).map(Some).map_err(|e| {
        AuthorizationError::new(
            DISCOVERY,
            format!("GET {url}: not the metadata expected: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_gives_its_parameters_quoted_or_not() {
        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp", error_description="say \"no\"""#,
        );
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(
            c.scopes(),
            Some(vec!["mcp:basic".to_owned(), "mcp:write".to_owned()])
        );
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/oauth-protected-resource/mcp")
        );
        let c = Challenge::parse("Bearer realm=x, scope=read");
        assert_eq!(c.scope.as_deref(), Some("read"));
        assert_eq!(Challenge::parse("Bearer"), Challenge::default());
        // An unterminated quote ends the reading without a panic.
        let c = Challenge::parse(r#"Bearer scope="a b"#);
        assert_eq!(c.scope, None);
    }

    /// What an authorization server or a protected resource sends the client:
    /// challenges, callback URLs and token answers, never a panic.
    #[test]
    fn fuzz_oauth_answers() {
        use crate::fuzzing::*;
        use crate::mcp::oauth::grant::{
            AuthorizationRequest, Client, ClientAuth, TokenAnswer, code_from_callback,
        };
        use proptest::prelude::*;
        let challenge = prop_oneof![
            r#"Bearer( [a-z_]{1,12}=("[^"]{0,20}"?|[a-z:/. ]{0,20}),?){0,6}"#,
            r#"[ -~]{0,64}"#,
        ];
        let callback = prop_oneof![
            r"http://localhost/cb\?((code|state|iss|error|error_description)=[ -~]{0,12}&?){0,5}",
            r"[ -~]{0,40}",
        ];
        let expires = prop_oneof![
            Just("null".to_owned()),
            r#""[0-9a-z.-]{0,24}""#,
            r"-?[0-9]{1,30}(\.[0-9]{1,5})?(e[0-9]{1,3})?",
        ];
        let input = (challenge, callback, expires);
        fuzz(
            "oauth_answers",
            3000,
            input,
            |(header, callback, expires)| {
                let c = Challenge::parse(&header);
                prop_assert!(c.scopes().is_none_or(|s| s.iter().all(|s| !s.is_empty())));
                let request = AuthorizationRequest {
                    url: String::new(),
                    state: "s".to_owned(),
                };
                let _ = code_from_callback(&callback, &request, Some("http://as"));
                let answer = format!(r#"{{"access_token":"t","expires_in":{expires}}}"#);
                if let Ok(answer) = serde_json::from_str::<TokenAnswer>(&answer) {
                    let client = Client {
                        id: "c".to_owned(),
                        secret: None,
                        auth: ClientAuth::None,
                    };
                    let _ = answer.into_tokens(&client, &[], None);
                }
                Ok(())
            },
        );
    }

    #[test]
    fn a_resource_covers_its_own_paths_on_its_own_origin_only() {
        let server = Url::parse("http://h:8/mcp").unwrap();
        assert!(resource_covers("http://h:8/mcp", &server));
        assert!(resource_covers("http://h:8/", &server));
        assert!(!resource_covers("http://h:8/mc", &server));
        assert!(!resource_covers("https://evil.example.com/mcp", &server));
        assert!(!resource_covers("http://h:9/mcp", &server));
        assert!(!resource_covers("not a url", &server));
    }

    #[test]
    fn well_known_urls_put_the_path_after_the_name() {
        let issuer = Url::parse("http://as/tenant1").unwrap();
        assert_eq!(
            well_known(&issuer, "oauth-authorization-server", "/tenant1"),
            "http://as/.well-known/oauth-authorization-server/tenant1"
        );
    }
}

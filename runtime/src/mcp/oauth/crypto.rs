//! The cryptography of an OAuth client: random values, PKCE (RFC 7636) and
//! signed client assertions (RFC 7523, `private_key_jwt`), on `ring`, which
//! TLS already brings.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use super::AuthorizationError;

/// Base64url without padding, as JWS and PKCE write bytes.
pub(super) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `n` random bytes written as base64url: unguessable values (PKCE
/// verifiers, `state`, JWT ids).
pub(super) fn random_text(n: usize) -> Result<String, AuthorizationError> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AuthorizationError::new("preparing", "no random numbers from the system"))?;
    Ok(base64url(&bytes))
}

/// A PKCE pair: the verifier kept for the token request, the S256 challenge
/// sent with the authorization request.
pub(super) struct Pkce {
    pub(super) verifier: String,
    pub(super) challenge: String,
}

impl Pkce {
    pub(super) fn new() -> Result<Self, AuthorizationError> {
        // 32 random bytes are 43 characters, the shortest verifier allowed.
        let verifier = random_text(32)?;
        let challenge = s256(&verifier);
        Ok(Self {
            verifier,
            challenge,
        })
    }
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)).
fn s256(verifier: &str) -> String {
    base64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

/// A P-256 private key that signs client assertions (ES256).
pub(super) struct SigningKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(ES256, [redacted])")
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) holding a P-256 key.
    pub(super) fn from_pem(pem: &str) -> Result<Self, AuthorizationError> {
        let refuse = |why: &str| AuthorizationError::new("reading the signing key", why);
        let body = pem
            .split("-----BEGIN PRIVATE KEY-----")
            .nth(1)
            .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
            .ok_or_else(|| refuse("not a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)"))?;
        let text: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(text)
            .map_err(|_| refuse("the PEM's body is not base64"))?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
                .map_err(|_| refuse("not a P-256 (ES256) private key"))?;
        Ok(Self { pair })
    }

    /// A client assertion (RFC 7523 §3): `iss` and `sub` the client id, `aud`
    /// the authorization server, valid for five minutes, with a fresh `jti`.
    pub(super) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<String, AuthorizationError> {
        let now = super::unix_now();
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now.saturating_add(300),
            "jti": random_text(16)?,
        });
        let signed = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), signed.as_bytes())
            .map_err(|_| AuthorizationError::new("signing the client assertion", "ECDSA failed"))?;
        Ok(format!("{signed}.{}", base64url(signature.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let fresh = Pkce::new().unwrap();
        assert_eq!(fresh.challenge, s256(&fresh.verifier));
        assert_eq!(fresh.verifier.len(), 43);
        assert_ne!(fresh.verifier, Pkce::new().unwrap().verifier);
    }

    #[test]
    fn a_key_that_is_not_p256_pkcs8_is_refused_with_why() {
        let e = SigningKey::from_pem("hello").unwrap_err();
        assert!(e.to_string().contains("PKCS#8"), "{e}");
        let e = SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----")
            .unwrap_err();
        assert!(e.to_string().contains("base64"), "{e}");
        let e =
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .unwrap_err();
        assert!(e.to_string().contains("P-256"), "{e}");
    }

    #[test]
    fn an_assertion_is_a_verifiable_es256_jwt() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let key = SigningKey::from_pem(&pem).unwrap();
        let jwt = key.assertion("client-1", "https://as.example").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], "https://as.example");
        let public = ring::signature::KeyPair::public_key(&key.pair)
            .as_ref()
            .to_vec();
        let verifier = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            public,
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        verifier
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .expect("the signature verifies with the public key");
    }
}

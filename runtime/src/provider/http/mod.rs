//! The shared HTTP client: one `reqwest` client, retries with exponential
//! backoff and jitter (honouring `Retry-After`, `retry-after-ms`,
//! `x-should-retry` and the rate-limit reset headers), timeouts, error mapping,
//! and API-key redaction.

mod client;
mod exchange;
mod key;
mod limits;
pub(crate) mod rate_limits;
mod retry;
mod status;

pub(crate) use client::*;
pub(crate) use exchange::*;
pub use exchange::{Exchange, ExchangeObserver};
pub use key::ApiKey;
pub use limits::Limits;
pub(crate) use limits::*;
pub use retry::RetryPolicy;
pub(crate) use retry::*;
pub(crate) use status::*;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ErrorKind;
    use crate::chat::RateLimits;

    #[test]
    fn the_key_never_shows() {
        let k = ApiKey::new("csk-secret-1234");
        assert_eq!(format!("{k:?} {k}"), "ApiKey([redacted]) [redacted]");
        assert_eq!(k.redact("bad key csk-secret-1234!"), "bad key [redacted]!");
    }

    #[test]
    fn an_error_in_a_body_is_typed_by_its_number_then_its_name() {
        use serde_json::json;
        let status = |v: serde_json::Value| error_status_in(&v, 500);
        // The number beside the error wins (Cerebras), then the error's own.
        assert_eq!(
            status(json!({"status_code": 429, "error": {"code": 503}})),
            429
        );
        assert_eq!(status(json!({"error": {"code": 503}, "code": 429})), 503);
        assert_eq!(status(json!({"error": {"status": 404}})), 404);
        assert_eq!(status(json!({"code": 429})), 429, "a flat error");
        // No number in range: the name says it, in any provider's spelling.
        assert_eq!(
            status(json!({"error": {"code": 7, "type": "rate_limit_error"}})),
            429
        );
        assert_eq!(
            status(json!({"error": {"status": "RESOURCE_EXHAUSTED"}})),
            429
        );
        assert_eq!(status(json!({"error": "boom"})), 500, "else the fallback");
    }

    #[test]
    fn errors_map_to_actionable_variants() {
        let body = r#"{"message":"Wrong API Key","type":"invalid_request_error","param":"api_key","code":"wrong_api_key"}"#;
        assert!({
            let e = status_error(401, body, "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::Auth
                && e.api_error().and_then(|a| a.code.as_deref()) == Some("wrong_api_key")
        });
        let body = r#"{"message":"Model x does not exist","type":"not_found_error","param":"model","code":"model_not_found"}"#;
        assert!({
            let e = status_error(404, body, "x", RateLimits::default(), None, None);
            e.kind() == ErrorKind::ModelNotFound && e.model() == Some("x")
        });
        let wrapped = r#"{"error":{"message":"boom","type":"server_error"}}"#;
        assert!({
            let e = status_error(503, wrapped, "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::Server && e.api_error().is_some_and(|a| a.message == "boom")
        });
        assert!({
            let e = status_error(400, "", "m", RateLimits::default(), None, None);
            e.kind() == ErrorKind::BadRequest
                && e.api_error().is_some_and(|a| a.message == "Bad Request")
        });
    }

    #[test]
    fn waits_come_from_the_headers() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            retry_wait(429, &h("retry-after-ms", "250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_wait(503, &h("retry-after", "2")),
            Some(Duration::from_secs(2))
        );
        let limits = vec![
            (
                "x-ratelimit-remaining-tokens-minute".to_owned(),
                "0".to_owned(),
            ),
            (
                "x-ratelimit-reset-tokens-minute".to_owned(),
                "1.5".to_owned(),
            ),
        ];
        assert_eq!(retry_wait(429, &limits), Some(Duration::from_millis(1500)));
        assert_eq!(retry_wait(500, &[]), None);
        let p = RetryPolicy::default();
        for attempt in 0..6 {
            let b = p.backoff_for(attempt);
            assert!(b <= p.max_backoff && b >= p.initial_backoff / 2, "{b:?}");
        }
    }
}

#[cfg(test)]
mod fuzz {

    use proptest::prelude::*;

    use super::rate_limits;

    use crate::fuzzing::*;

    #[test]
    fn fuzz_headers() {
        let value = prop_oneof![
            "[0-9.eE+-]{0,12}",
            Just("1e300".to_owned()),
            Just("inf".to_owned()),
            Just("NaN".to_owned()),
            Just("-1".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("Sun, 06 Nov 1994 08:49:37 GMT".to_owned()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
            "[A-Za-z0-9 ,:]{0,32}",
        ];
        let name = prop_oneof![
            Just("retry-after".to_owned()),
            Just("retry-after-ms".to_owned()),
            "x-ratelimit-(limit|remaining|reset)-(requests|tokens|x)-(minute|hour|day|)",
            "[a-z-]{0,20}",
        ];
        let input = (proptest::collection::vec((name, value), 0..10), 100u16..600);
        fuzz("headers", 4000, input, |(headers, status)| {
            let limits = rate_limits::of_pairs(&headers);
            prop_assert!(limits.limits.len() <= 6);
            let _ = limits.exhausted_reset();
            let _ = crate::provider::http::retry_wait(status, &headers);
            for (_, v) in &headers {
                let _ = crate::wire_numbers::parse_retry_after(v, std::time::SystemTime::now());
            }
            Ok(())
        });
    }
}

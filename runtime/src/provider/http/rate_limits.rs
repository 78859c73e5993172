//! The rate-limit headers providers send, read into the neutral
//! [`RateLimits`]: OpenAI's form (`x-ratelimit-*`, also Groq, Cerebras,
//! Together, …) and Anthropic's (`anthropic-ratelimit-*`).

use std::time::SystemTime;

use crate::chat::{RateLimitResource, RateLimitWindow, RateLimits};
use crate::wire_numbers::{parse_go_duration, parse_rfc3339_wait, parse_seconds};

/// Every `x-ratelimit-{limit,remaining,reset}-{requests,tokens}[-{minute,hour,day}]`
/// header present, and Anthropic's
/// `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
/// (per minute; the reset an RFC 3339 time). `headers` yields (lower-case
/// name, value) pairs; other headers are passed over unread.
pub(crate) fn from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> RateLimits {
    let mut out = RateLimits::default();
    for (name, value) in headers {
        // Most headers are not about limits: their values are never read.
        if let Some(rest) = name.strip_prefix("x-ratelimit-") {
            if let Ok(value) = std::str::from_utf8(value) {
                openai_form(&mut out, rest, value.trim());
            }
        } else if let Some(rest) = name.strip_prefix("anthropic-ratelimit-")
            && let Ok(value) = std::str::from_utf8(value)
        {
            anthropic_form(&mut out, rest, value.trim());
        }
    }
    out.limits.sort_by_key(|l| (l.resource, l.window));
    out
}

/// The limits of a response's headers.
pub(crate) fn of_header_map(headers: &reqwest::header::HeaderMap) -> RateLimits {
    from_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
}

/// The limits of headers kept as owned pairs.
pub(crate) fn of_pairs(headers: &[(String, String)]) -> RateLimits {
    from_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())))
}

/// `x-ratelimit-limit-requests-day`; without a window (OpenAI, Groq) per minute.
fn openai_form(out: &mut RateLimits, rest: &str, value: &str) {
    let mut parts = rest.splitn(3, '-');
    let (Some(field), Some(resource), window) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let resource = match resource {
        "requests" => RateLimitResource::Requests,
        "tokens" => RateLimitResource::Tokens,
        _ => return,
    };
    let window = match window.unwrap_or("minute") {
        "minute" => RateLimitWindow::Minute,
        "hour" => RateLimitWindow::Hour,
        "day" => RateLimitWindow::Day,
        _ => return,
    };
    let entry = out.entry(resource, window);
    match field {
        "limit" => entry.limit = value.parse().ok(),
        "remaining" => entry.remaining = value.parse().ok(),
        // Fallible: `1e20` or `inf` from a server saturates, never panics;
        // OpenAI writes `6m0s` or `120ms`.
        "reset" => entry.reset = parse_seconds(value).or_else(|| parse_go_duration(value)),
        _ => {}
    }
}

/// `anthropic-ratelimit-input-tokens-remaining`: per minute, the reset a time.
fn anthropic_form(out: &mut RateLimits, rest: &str, value: &str) {
    let Some((resource, field)) = rest.rsplit_once('-') else {
        return;
    };
    let resource = match resource {
        "requests" => RateLimitResource::Requests,
        "tokens" => RateLimitResource::Tokens,
        "input-tokens" => RateLimitResource::InputTokens,
        "output-tokens" => RateLimitResource::OutputTokens,
        _ => return,
    };
    let entry = out.entry(resource, RateLimitWindow::Minute);
    match field {
        "limit" => entry.limit = value.parse().ok(),
        "remaining" => entry.remaining = value.parse().ok(),
        "reset" => entry.reset = parse_rfc3339_wait(value, SystemTime::now()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(headers: &[(&str, &str)]) -> RateLimits {
        from_headers(headers.iter().map(|(k, v)| (*k, v.as_bytes())))
    }

    #[test]
    fn both_forms_are_read_and_other_headers_passed_over() {
        let l = limits(&[
            ("content-type", "application/json"),
            ("x-ratelimit-limit-requests-day", "14400"),
            ("x-ratelimit-remaining-requests-day", " 14399 "),
            ("x-ratelimit-reset-requests-day", "33011.38"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"),
            ("x-ratelimit-limit-bananas-day", "3"),
            ("x-ratelimit-limit-requests-fortnight", "3"),
        ]);
        let day = l
            .get(RateLimitResource::Requests, RateLimitWindow::Day)
            .expect("the daily request limit");
        assert_eq!((day.limit, day.remaining), (Some(14400), Some(14399)));
        assert_eq!(day.reset, Some(Duration::from_secs_f64(33011.38)));
        let tokens = l
            .get(RateLimitResource::Tokens, RateLimitWindow::Minute)
            .expect("the per-minute token limit");
        assert_eq!(tokens.reset, Some(Duration::from_secs(360)));
        assert_eq!(l.exhausted_reset(), Some(Duration::from_secs(360)));
        let input = l
            .get(RateLimitResource::InputTokens, RateLimitWindow::Minute)
            .expect("Anthropic's input-token limit");
        assert_eq!(input.limit, Some(40000));
        assert_eq!(l.limits.len(), 3);
    }

    #[test]
    fn values_that_are_not_text_or_numbers_read_as_absent() {
        let l = from_headers([
            ("x-ratelimit-limit-requests", &b"\xff\xfe"[..]),
            ("x-ratelimit-remaining-requests", b"-1"),
            ("x-ratelimit-reset-requests", b"inf"),
        ]);
        let r = l
            .get(RateLimitResource::Requests, RateLimitWindow::Minute)
            .expect("an entry for the readable headers");
        assert_eq!((r.limit, r.remaining), (None, None));
    }
}

//! Numbers that arrive from a server (headers, usage counts), read fallibly:
//! whatever a server sends, reading it cannot panic or overflow.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds as a [`Duration`]: `None` for NaN and negative values, saturating at
/// [`Duration::MAX`] for values too large (`1e300`, `inf`) instead of
/// panicking as [`Duration::from_secs_f64`] does.
pub(crate) fn seconds(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// A header value of seconds (`"2"`, `"1.5"`, `"1e20"`), read as [`seconds`].
pub(crate) fn parse_seconds(text: &str) -> Option<Duration> {
    seconds(text.trim().parse::<f64>().ok()?)
}

/// A header value of milliseconds, read as [`seconds`].
pub(crate) fn parse_millis(text: &str) -> Option<Duration> {
    seconds(text.trim().parse::<f64>().ok()? / 1000.0)
}

/// A duration written as Go prints one (`1h2m3.5s`, `6m0s`, `120ms`, `0s`),
/// as OpenAI's rate-limit reset headers do. Saturates like [`seconds`].
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number.parse().ok()?;
        let (unit, scale) = [
            ("ms", 1e-3),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ns", 1e-9),
            ("h", 3600.0),
            ("m", 60.0),
            ("s", 1.0),
        ]
        .into_iter()
        .find(|(u, _)| tail.starts_with(u))?;
        total += value * scale;
        rest = tail.get(unit.len()..)?;
    }
    seconds(total)
}

/// `Retry-After` in either of its forms: seconds, or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), as the wait from `now`. A date in the past
/// is no wait.
pub(crate) fn parse_retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    if let Some(d) = parse_seconds(text) {
        return Some(d);
    }
    let at = parse_http_date(text)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// An IMF-fixdate (RFC 9110 §5.6.7, `Sun, 06 Nov 1994 08:49:37 GMT`) as Unix
/// seconds. The obsolete RFC 850 and asctime forms are not read.
pub(crate) fn parse_http_date(text: &str) -> Option<u64> {
    let mut parts = text.trim().split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let (h, m, s): (u64, u64, u64) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    unix_seconds(year, month, day, h, m, s)
}

/// A civil UTC date and time as Unix seconds; `None` when out of range.
fn unix_seconds(year: i64, month: i64, day: u64, h: u64, m: u64, s: u64) -> Option<u64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || h > 23
        || m > 59
        || s > 60
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), in i64 throughout.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + i64::try_from(day).ok()? - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()?
        .checked_mul(86_400)?
        .checked_add(h * 3600 + m * 60 + s)
}

/// An RFC 3339 UTC time (`2026-02-07T14:39:09Z`, fractional seconds and a
/// numeric offset allowed) as Unix seconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: u64 = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (time.get(..i)?, time.get(i..)?),
        None => return None,
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.split(':');
    let (h, m, s): (u64, u64, u64) = (
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
        hms.next()?.parse().ok()?,
    );
    if hms.next().is_some() {
        return None;
    }
    let at = unix_seconds(year, month, day, h, m, s)?;
    if offset.eq_ignore_ascii_case("z") {
        return Some(at);
    }
    let (sign, rest) = offset.split_at(1);
    let (oh, om) = rest.split_once(':')?;
    let (oh, om): (u64, u64) = (oh.parse().ok()?, om.parse().ok()?);
    if oh > 23 || om > 59 {
        return None;
    }
    let shift = oh * 3600 + om * 60;
    if sign == "+" {
        at.checked_sub(shift)
    } else {
        at.checked_add(shift)
    }
}

/// The wait from `now` until an RFC 3339 time; a time in the past is no wait.
pub(crate) fn parse_rfc3339_wait(text: &str, now: SystemTime) -> Option<Duration> {
    let at = parse_rfc3339(text)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_seconds_saturate_instead_of_panicking() {
        assert_eq!(parse_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_millis("250"), Some(Duration::from_millis(250)));
        for huge in ["1e20", "1e300", "inf", "Infinity"] {
            assert_eq!(parse_seconds(huge), Some(Duration::MAX), "{huge}");
        }
        for huge in ["1e23", "1e300", "inf"] {
            assert_eq!(parse_millis(huge), Some(Duration::MAX), "{huge}");
        }
        for bad in ["-1", "NaN", "", "soon", "-inf"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_are_read() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        let now = UNIX_EPOCH + Duration::from_secs(784_111_700);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(77))
        );
        let later = UNIX_EPOCH + Duration::from_secs(784_111_800);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn go_durations_are_read() {
        assert_eq!(parse_go_duration("120ms"), Some(Duration::from_millis(120)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_go_duration("1e999h"), None);
        assert_eq!(
            parse_go_duration("99999999999999999999999h"),
            Some(Duration::MAX)
        );
        for bad in ["", "5", "5x", "-1s", "s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_times_are_read() {
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37Z"), Some(784_111_777));
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37.25Z"), Some(784_111_777));
        assert_eq!(
            parse_rfc3339("1994-11-06T09:49:37+01:00"),
            Some(784_111_777)
        );
        for bad in [
            "",
            "1994-11-06",
            "1994-13-06T08:49:37Z",
            "1994-11-06T08:49:37",
            "99999999999999999999-11-06T08:49:37Z",
            "1994-11-06T08:49:37+99:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let now = UNIX_EPOCH + Duration::from_secs(784_111_700);
        assert_eq!(
            parse_rfc3339_wait("1994-11-06T08:49:37Z", now),
            Some(Duration::from_secs(77))
        );
    }
}

//! Timestamps of CloudTrail records, as seconds since the Unix epoch (UTC). No clock here: the
//! caller passes time in.

/// `eventTime` is ISO 8601 in UTC, e.g. `2024-10-25T20:07:11Z`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
pub const EVENT_TIME_DOC: &str = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html";

/// Parses any timestamp CloudTrail writes: ISO 8601 (`eventTime`, some `expiration`s), the
/// console-like `credentials.expiration` (`Oct 25, 2024, 9:07:11 PM`, also without the second
/// comma, always UTC), or epoch seconds / milliseconds.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 16 {
        let n: i64 = s.parse().ok()?;
        // 13 digits are milliseconds (AWS SDKs serialise `Date` that way).
        return Some(if s.len() >= 13 { n / 1000 } else { n });
    }
    if s.as_bytes()[0].is_ascii_digit() {
        parse_iso(s)
    } else {
        parse_us(s)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` (a space for `T` and a missing zone are accepted: UTC).
fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = num(s.get(0..4)?)?;
    let month = num(s.get(5..7)?)?;
    let day = num(s.get(8..10)?)?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, sec) = (
        num(s.get(11..13)?)?,
        num(s.get(14..16)?)?,
        num(s.get(17..19)?)?,
    );
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = rest[1..].replace(':', "");
            if zone.len() != 4 {
                return None;
            }
            sign * (num(zone.get(0..2)?)? * 3600 + num(zone.get(2..4)?)? * 60)
        }
    };
    Some(epoch(year, month, day, h, m, sec)? - offset)
}

/// `Oct 25, 2024, 9:07:11 PM` or `Oct 25, 2024 9:07:11 PM` (UTC).
fn parse_us(s: &str) -> Option<i64> {
    let mut parts = s.split([' ', ',']).filter(|p| !p.is_empty());
    let month = month_number(parts.next()?)?;
    let day = num(parts.next()?)?;
    let year = num(parts.next()?)?;
    let clock = parts.next()?;
    let meridiem = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let mut hms = clock.split(':');
    let (h, m) = (num(hms.next()?)?, num(hms.next()?)?);
    let sec = hms.next().map(num).unwrap_or(Some(0))?;
    if hms.next().is_some() {
        return None;
    }
    let h = match meridiem.map(str::to_ascii_uppercase).as_deref() {
        None => h,
        Some("AM") if (1..=12).contains(&h) => h % 12,
        Some("PM") if (1..=12).contains(&h) => h % 12 + 12,
        Some(_) => return None,
    };
    epoch(year, month, day, h, m, sec)
}

fn month_number(name: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = name.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == prefix)
        .map(|i| i as i64 + 1)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Seconds since the epoch for a UTC civil time; `None` when a field is out of range.
pub fn epoch(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..=60).contains(&s)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 UTC text for epoch seconds: `2024-10-25T20:07:11Z`.
pub fn format(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! yields {
        ($($name:ident: $input:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(parse($input).map(format).as_deref(), $want);
            }
        )*};
    }

    yields! {
        iso_z: "2024-10-25T20:07:11Z" => Some("2024-10-25T20:07:11Z");
        iso_fraction: "2024-10-25T20:07:11.123Z" => Some("2024-10-25T20:07:11Z");
        iso_offset: "2024-10-25T22:07:11+02:00" => Some("2024-10-25T20:07:11Z");
        iso_no_zone: "2024-10-25 20:07:11" => Some("2024-10-25T20:07:11Z");
        us_two_commas: "Oct 25, 2024, 9:07:11 PM" => Some("2024-10-25T21:07:11Z");
        us_one_comma: "Jul 12, 2019 1:23:45 AM" => Some("2019-07-12T01:23:45Z");
        us_noon: "Aug 1, 2020 12:00:00 PM" => Some("2020-08-01T12:00:00Z");
        us_midnight: "Aug 1, 2020 12:00:00 AM" => Some("2020-08-01T00:00:00Z");
        epoch_seconds: "1729886831" => Some("2024-10-25T20:07:11Z");
        epoch_millis: "1729886831000" => Some("2024-10-25T20:07:11Z");
        leap_day: "2024-02-29T00:00:00Z" => Some("2024-02-29T00:00:00Z");
        not_leap: "2023-02-29T00:00:00Z" => None;
        bad_month: "Foo 1, 2020 1:00:00 AM" => None;
        hour_13_pm: "Aug 1, 2020 13:00:00 PM" => None;
        garbage: "yesterday" => None;
        empty: "" => None;
        truncated: "2024-10-25T20:07" => None;
        multibyte: "2024-10-25T20:07:11\u{e9}" => None;
    }

    #[test]
    fn round_trip_over_four_centuries() {
        for t in (-2_000_000_000i64..20_000_000_000).step_by(86_399 * 37) {
            assert_eq!(parse(&format(t)), Some(t), "{}", format(t));
        }
    }
}

//! Dates, times and numbers as each language writes them. Times are UTC on the server;
//! the pages' own script shows them again in the reader's time zone.

use time::OffsetDateTime;

use crate::{Arg, Locale, text, text_with};

/// A moment (milliseconds since the epoch) as a date and time in UTC:
/// "6 Dec 2026, 08:15 UTC", "6. Dez. 2026, 08:15 UTC".
pub fn format_datetime(locale: Locale, millis: i64) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)) else {
        return String::new();
    };
    let month = text(locale, &format!("month-{}", u8::from(at.month())));
    match locale {
        Locale::En => format!(
            "{} {month} {}, {:02}:{:02} UTC",
            at.day(),
            at.year(),
            at.hour(),
            at.minute()
        ),
        Locale::De => format!(
            "{}. {month} {}, {:02}:{:02} UTC",
            at.day(),
            at.year(),
            at.hour(),
            at.minute()
        ),
    }
}

/// A count with the language's thousands separator: "12,345", "12.345".
pub fn format_count(locale: Locale, n: i64) -> String {
    let separator = match locale {
        Locale::En => ',',
        Locale::De => '.',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// How long ago `at` was, as people say it ("just now", "5 min ago", "vor 3 Tagen");
/// after a month, the date.
pub fn relative_time(locale: Locale, now_millis: i64, at_millis: i64) -> String {
    let secs = (now_millis - at_millis).max(0) / 1000;
    let (id, count) = match secs {
        0..60 => return text(locale, "time-just-now"),
        60..3600 => ("time-minutes-ago", secs / 60),
        3600..86_400 => ("time-hours-ago", secs / 3600),
        86_400..2_592_000 => ("time-days-ago", secs / 86_400),
        _ => {
            let full = format_datetime(locale, at_millis);
            return full.split(',').next().unwrap_or_default().to_owned();
        }
    };
    text_with(locale, id, &[("count", Arg::Number(count))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_read_as_each_language_writes_them() {
        // 2026-12-06 08:15:00 UTC
        let at = 1_796_544_900_000;
        assert_eq!(format_datetime(Locale::En, at), "6 Dec 2026, 08:15 UTC");
        assert_eq!(format_datetime(Locale::De, at), "6. Dez. 2026, 08:15 UTC");
        assert_eq!(format_count(Locale::En, 1_234_567), "1,234,567");
        assert_eq!(format_count(Locale::De, 1_234_567), "1.234.567");
        assert_eq!(format_count(Locale::De, -999), "-999");
    }

    #[test]
    fn times_read_as_people_say_them() {
        let now = 10_000_000_000;
        assert_eq!(relative_time(Locale::En, now, now - 5_000), "just now");
        assert_eq!(relative_time(Locale::En, now, now - 300_000), "5 min ago");
        assert_eq!(relative_time(Locale::De, now, now - 300_000), "vor 5 Min.");
        assert_eq!(relative_time(Locale::En, now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(relative_time(Locale::En, now, now - 86_400_000), "1 day ago");
        assert_eq!(relative_time(Locale::De, now, now - 86_400_000), "vor 1 Tag");
        assert_eq!(
            relative_time(Locale::En, now, now - 40 * 86_400_000),
            "17 Mar 1970"
        );
        // A clock a little behind is "just now", never negative.
        assert_eq!(relative_time(Locale::En, now, now + 5_000), "just now");
    }
}

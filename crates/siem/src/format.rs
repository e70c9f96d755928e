//! How one audit entry reads to a SIEM. Syslog: RFC 5424 with the entry's facts in a
//! structured-data element (`audit@32473`: 32473 is the enterprise number RFC 5612
//! reserves for documentation, as Palisade has none of its own) and the whole entry as
//! JSON in the message; facility `log audit` (13); severity from the outcome, `alert`
//! for security alerts. JSON lines: the entry as one object per line. Both carry the
//! entry's sequence number and hash, so a collector can drop duplicates (delivery is
//! at least once) and check entries against the chain.

use palisade_audit::AuditEntry;
use serde_json::{Value, json};

const FACILITY_LOG_AUDIT: u8 = 13;
const SD_ID: &str = "audit@32473";

pub fn entry_json(entry: &AuditEntry) -> Value {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::String(entry.detail.clone()));
    json!({
        "seq": entry.seq,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "object": entry.object,
        "outcome": entry.outcome,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "session": entry.session,
        "detail": detail,
        "hash": entry.hash,
    })
}

/// One JSON line, newline included.
pub fn json_line(entry: &AuditEntry) -> String {
    let mut line = entry_json(entry).to_string();
    line.push('\n');
    line
}

/// The RFC 5424 message (without the RFC 5425 length prefix).
pub fn rfc5424(entry: &AuditEntry, hostname: &str, procid: u32) -> String {
    let severity: u8 = match (entry.action.as_str(), entry.outcome.as_str()) {
        ("security.alert_raised", _) => 1,
        (_, "success") => 5,
        _ => 4,
    };
    let pri = u16::from(FACILITY_LOG_AUDIT) * 8 + u16::from(severity);
    let msgid: String = printable(&entry.action).chars().take(32).collect();
    let params = [
        ("seq", entry.seq.to_string()),
        ("actor", entry.actor.clone()),
        ("object", entry.object.clone()),
        ("outcome", entry.outcome.clone()),
        ("ip", entry.ip.clone()),
        ("hash", entry.hash.clone()),
    ];
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        sd.push_str(&format!(" {name}=\"{}\"", escape_param(&value)));
    }
    sd.push(']');
    format!(
        "<{pri}>1 {} {} palisade {procid} {} {sd} \u{feff}{}",
        rfc3339(entry.at),
        nil_or(&printable(hostname).chars().take(255).collect::<String>()),
        nil_or(&msgid),
        entry_json(entry)
    )
}

/// RFC 5425: the message's length in octets, a space, the message.
pub fn octet_counted(message: &str) -> String {
    format!("{} {message}", message.len())
}

/// RFC 5424 §6.3.3: `"`, `\` and `]` are escaped inside a parameter value; control
/// characters (which a collector writing lines would split on) become U+FFFD.
fn escape_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() {
            out.push('\u{fffd}');
            continue;
        }
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Header fields are printable US-ASCII without spaces (RFC 5424 §6).
fn printable(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_graphic()).collect()
}

fn nil_or(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

fn rfc3339(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 42,
            at: 1_796_631_300_123,
            actor: "user:usr_1".into(),
            action: "auth.sign_in".into(),
            object: "evil\"] [inject@1 x=\"y\\\r\nsecond".into(),
            outcome: "failure".into(),
            ip: "192.0.2.7".into(),
            ip_salt: String::new(),
            ip_commit: String::new(),
            user_agent: "curl/8\nforged line".into(),
            session: String::new(),
            detail: r#"{"reason":"password"}"#.into(),
            prev_hash: "p".into(),
            hash: "h".into(),
        }
    }

    #[test]
    fn a_syslog_message_has_the_rfc5424_shape_and_cannot_be_split_or_injected() {
        let message = rfc5424(&entry(), "desk.example", 7);
        assert!(
            message.starts_with(
                "<108>1 2026-12-07T08:15:00.123Z desk.example palisade 7 auth.sign_in [audit@32473 seq=\"42\""
            ),
            "{message}"
        );
        // A value cannot close the element and open one of its own.
        assert!(
            message.contains("object=\"evil\\\"\\] [inject@1 x=\\\"y\\\\\u{fffd}\u{fffd}second\""),
            "{message}"
        );
        // Nor start a new line (a second message, to a collector reading lines).
        assert!(!message.contains('\n'), "{message}");
        let json_part = message.split('\u{feff}').nth(1).unwrap();
        let parsed: Value = serde_json::from_str(json_part).unwrap();
        assert_eq!(parsed["user_agent"], "curl/8\nforged line");
        assert_eq!(parsed["detail"]["reason"], "password");
        let framed = octet_counted(&message);
        assert_eq!(framed, format!("{} {message}", message.len()));
    }

    #[test]
    fn alerts_are_alerts_and_successes_notices() {
        let mut alert = entry();
        alert.action = "security.alert_raised".into();
        alert.outcome = "denied".into();
        assert!(rfc5424(&alert, "h", 1).starts_with("<105>1 "));
        let mut ok = entry();
        ok.outcome = "success".into();
        assert!(rfc5424(&ok, "", 1).starts_with("<109>1 2026-12-07T08:15:00.123Z - palisade"));
    }

    #[test]
    fn a_json_line_is_one_line() {
        let line = json_line(&entry());
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n'));
    }
}

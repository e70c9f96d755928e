//! Redaction on arrival. Each detector finds candidates with a pattern and keeps only
//! those that pass a check a random number would fail (Luhn for card numbers, mod-97
//! for IBANs, the SSA's rules for SSNs) or that are introduced as what they are ("my
//! password is …", "code: …"), so order numbers and dates survive. What is removed is
//! replaced by a visible marker naming what it was, so the writer sees that and why.
//! Card numbers keep at most their last four digits; nothing else is kept.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::AssistError;
use crate::constant_regex as pattern;

/// What a marker replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionKind {
    PrivateKey,
    Jwt,
    ApiKey,
    Password,
    OneTimeCode,
    CardNumber,
    CardSecurityCode,
    Iban,
    UsSsn,
    Custom,
}

impl RedactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrivateKey => "private_key",
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Password => "password",
            Self::OneTimeCode => "one_time_code",
            Self::CardNumber => "card_number",
            Self::CardSecurityCode => "card_security_code",
            Self::Iban => "iban",
            Self::UsSsn => "us_ssn",
            Self::Custom => "custom",
        }
    }

    pub const ALL: [RedactionKind; 10] = [
        Self::PrivateKey,
        Self::Jwt,
        Self::ApiKey,
        Self::Password,
        Self::OneTimeCode,
        Self::CardNumber,
        Self::CardSecurityCode,
        Self::Iban,
        Self::UsSsn,
        Self::Custom,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// For the writer: what was removed.
    pub fn describe(self) -> &'static str {
        match self {
            Self::PrivateKey => "a private key",
            Self::Jwt => "an access token",
            Self::ApiKey => "an API key or secret",
            Self::Password => "a password",
            Self::OneTimeCode => "a one-time code",
            Self::CardNumber => "a card number",
            Self::CardSecurityCode => "a card security code",
            Self::Iban => "a bank account number (IBAN)",
            Self::UsSsn => "a social security number",
            Self::Custom => "data your support team asked not to receive",
        }
    }
}

/// The text with its sensitive parts replaced, and what was found (kind, count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub found: Vec<(RedactionKind, usize)>,
}

impl Redacted {
    pub fn is_clean(&self) -> bool {
        self.found.is_empty()
    }
}

/// An organisation's own pattern (e.g. member numbers), from the configuration.
#[derive(Clone, Debug)]
pub struct CustomPattern {
    pub name: String,
    pub regex: String,
}

#[derive(Default, Debug)]
pub struct Redactor {
    custom: Vec<(String, Regex)>,
}

static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)")
});
static JWT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"));
static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}",
        r"|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}",
        r"|glpat-[A-Za-z0-9_-]{20,})"
    ))
});
/// A secret introduced as one: "api key: …", "secret = …".
static NAMED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:api[ _-]?key|secret(?:[ _-]?key)?|access[ _-]?key|client[ _-]?secret|token)\s*(?:is\s*:?|:|=)\s*(\S{12,})",
    )
});
static PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b(?:password|passwd|passphrase|pwd|pw|pin)\s*(?:is\s*:?|:|=)\s*(\S+)"));
/// A code named as a sign-in code ("OTP 118833", "verification code: 4821").
static ONE_TIME_CODE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"(?i)\b(?:one[- ]time (?:code|password|passcode)|otp|verification code|auth(?:entication)? code",
        r"|2fa code|login code|sign-in code|sms code|security code)\s*(?:is\s*:?|:|=)?\s*(\d{4,8})\b"
    ))
});
/// A bare "code is 123456" / "code: 123456" (the word before decides: an error,
/// zip or discount code is not a secret).
static BARE_CODE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b(?:(\w+)\s+)?code\s*(?:is\s*:?|:|=)\s*(\d{4,8})\b"));
const NOT_SECRET_CODES: [&str; 14] = [
    "error",
    "zip",
    "postal",
    "post",
    "discount",
    "promo",
    "promotion",
    "voucher",
    "coupon",
    "area",
    "country",
    "status",
    "product",
    "tracking",
];
/// Words that follow "password is" in complaints, not passwords.
const NOT_PASSWORDS: [&str; 24] = [
    "not",
    "wrong",
    "incorrect",
    "invalid",
    "expired",
    "missing",
    "too",
    "being",
    "still",
    "reset",
    "blocked",
    "locked",
    "the",
    "a",
    "my",
    "also",
    "correct",
    "right",
    "working",
    "no",
    "empty",
    "required",
    "changed",
    "rejected",
];
static CARD: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d(?:[ -]?\d){11,18}\b"));
static SECURITY_CODE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:cvv2?|cvc2?|csc|cid|security code|sec\.? code|card code)\s*(?:is\s*:?|:|=|#)?\s*(\d{3,4})\b",
    )
});
/// An expiry and a trailing three or four digits right after a card number.
static EXPIRY_AND_CODE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*[,;/]?\s*(?:(?i:exp\w*)\W*)?\d{2}\s*/\s*\d{2,4}\s*[,;/]?\s*(\d{3,4})\b"));
/// Country, check digits, then groups of four as IBANs are written (or run together).
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"));
static SSN_DASHED: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(\d{3})-(\d{2})-(\d{4})\b"));
static SSN_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:is\s*:?|:|#)?\s*(\d{3}[ -]?\d{2}[ -]?\d{4})\b",
    )
});

impl Redactor {
    /// The built-in detectors plus the organisation's patterns (refused if they do not
    /// compile or match the empty string).
    pub fn new(custom: &[CustomPattern]) -> Result<Self, AssistError> {
        let custom = custom
            .iter()
            .map(|p| {
                let regex = Regex::new(&p.regex).map_err(|e| AssistError::BadPattern {
                    name: p.name.clone(),
                    reason: e.to_string(),
                })?;
                if regex.is_match("") {
                    return Err(AssistError::BadPattern {
                        name: p.name.clone(),
                        reason: "matches the empty string".into(),
                    });
                }
                Ok((p.name.clone(), regex))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { custom })
    }

    pub fn redact(&self, text: &str) -> Redacted {
        let mut work = Work {
            text: text.to_owned(),
            found: Vec::new(),
        };
        work.whole(&PRIVATE_KEY, RedactionKind::PrivateKey, |_| true);
        work.whole(&JWT, RedactionKind::Jwt, |_| true);
        work.whole(&API_KEY, RedactionKind::ApiKey, |_| true);
        work.group(&NAMED_SECRET, RedactionKind::ApiKey);
        work.group_if(&PASSWORD, RedactionKind::Password, |value, _| {
            let word = value
                .trim_end_matches(['.', ',', '!', '?', ';'])
                .to_ascii_lowercase();
            !NOT_PASSWORDS.contains(&word.as_str())
        });
        work.cards();
        work.group(&ONE_TIME_CODE, RedactionKind::OneTimeCode);
        work.group_if(&BARE_CODE, RedactionKind::OneTimeCode, |_, before| {
            !before.is_some_and(|w| NOT_SECRET_CODES.contains(&w.to_ascii_lowercase().as_str()))
        });
        work.ibans();
        work.whole(&SSN_DASHED, RedactionKind::UsSsn, |m| ssn_valid(&digits(m)));
        work.group_if(&SSN_NAMED, RedactionKind::UsSsn, |value, _| {
            ssn_valid(&digits(value))
        });
        for (name, regex) in &self.custom {
            let marker = format!("[removed: {name}]");
            let before = work.text.clone();
            let count = regex.find_iter(&before).count();
            if count > 0 {
                work.text = regex.replace_all(&before, marker.as_str()).into_owned();
                work.note(RedactionKind::Custom, count);
            }
        }
        work.found.sort();
        Redacted {
            text: work.text,
            found: work.found,
        }
    }
}

struct Work {
    text: String,
    found: Vec<(RedactionKind, usize)>,
}

fn marker(kind: RedactionKind) -> String {
    format!("[{} removed]", kind.describe())
}

impl Work {
    fn note(&mut self, kind: RedactionKind, count: usize) {
        match self.found.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += count,
            None => self.found.push((kind, count)),
        }
    }

    /// Replaces whole matches that pass `keep`.
    fn whole(&mut self, regex: &Regex, kind: RedactionKind, keep: impl Fn(&str) -> bool) {
        let mut count = 0;
        let text = regex
            .replace_all(&self.text, |c: &regex::Captures<'_>| {
                let m = &c[0];
                if keep(m) {
                    count += 1;
                    marker(kind)
                } else {
                    m.to_owned()
                }
            })
            .into_owned();
        self.text = text;
        if count > 0 {
            self.note(kind, count);
        }
    }

    /// IBANs: the pattern may run on into the next word ("… 0005 1332 refund" reads as
    /// one more group) or start at a word before it ("SW19 DE89 3704 …"), so each match
    /// is tried from every group boundary, longest prefix first down to the shortest
    /// an IBAN can be, and the first that checks is taken.
    fn ibans(&mut self) {
        let source = self.text.clone();
        let mut out = String::with_capacity(source.len());
        let mut last = 0;
        let mut count = 0;
        for m in IBAN.find_iter(&source) {
            let candidate = m.as_str();
            let starts = std::iter::once(0).chain(
                candidate
                    .char_indices()
                    .filter(|(_, c)| *c == ' ')
                    .map(|(i, _)| i + 1),
            );
            let ends: Vec<usize> = candidate
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .filter(|end| {
                    candidate[..*end].ends_with(|c: char| c.is_ascii_alphanumeric())
                        && !candidate[*end..].starts_with(|c: char| c.is_ascii_alphanumeric())
                })
                .collect();
            let found = starts.into_iter().find_map(|start| {
                ends.iter()
                    .rev()
                    .filter(|end| **end > start)
                    .find(|end| iban_checks(&candidate[start..**end]))
                    .map(|end| (start, *end))
            });
            let Some((start, end)) = found else {
                continue;
            };
            out.push_str(&source[last..m.start() + start]);
            out.push_str(&marker(RedactionKind::Iban));
            last = m.start() + end;
            count += 1;
        }
        out.push_str(&source[last..]);
        self.text = out;
        if count > 0 {
            self.note(RedactionKind::Iban, count);
        }
    }

    /// Replaces the last capture group (the value after "password is", "code:", …).
    fn group(&mut self, regex: &Regex, kind: RedactionKind) {
        self.group_if(regex, kind, |_, _| true);
    }

    /// As `group`, when `keep(value, first group if there are two)` says so.
    fn group_if(&mut self, regex: &Regex, kind: RedactionKind, keep: impl Fn(&str, Option<&str>) -> bool) {
        let mut count = 0;
        let text = regex
            .replace_all(&self.text, |c: &regex::Captures<'_>| {
                let whole = c.get(0).map_or("", |m| m.as_str());
                let Some(value) = c.get(c.len() - 1) else {
                    return whole.to_owned();
                };
                let before = (c.len() > 2).then(|| c.get(1).map(|m| m.as_str())).flatten();
                // Already a marker (a password that was a card number, say).
                if value.as_str().starts_with('[') || !keep(value.as_str(), before) {
                    return whole.to_owned();
                }
                count += 1;
                let start = c.get(0).map_or(0, |m| m.start());
                let prefix = &whole[..value.start() - start];
                format!("{prefix}{}", marker(kind))
            })
            .into_owned();
        self.text = text;
        if count > 0 {
            self.note(kind, count);
        }
    }

    /// Luhn-valid 12–19 digit numbers, keeping the last four; a security code right
    /// after one, or named anywhere in a text that had one, goes too.
    fn cards(&mut self) {
        let mut out = String::with_capacity(self.text.len());
        let mut last = 0;
        let mut cards = 0;
        let mut codes = 0;
        let source = self.text.clone();
        for m in CARD.find_iter(&source) {
            let number = digits(m.as_str());
            if !(12..=19).contains(&number.len()) || !luhn(&number) {
                continue;
            }
            out.push_str(&source[last..m.start()]);
            out.push_str(&format!(
                "[{} ending {} removed]",
                RedactionKind::CardNumber.describe(),
                &number[number.len() - 4..]
            ));
            last = m.end();
            cards += 1;
            // An expiry and a bare code right after the number.
            if let Some(c) = EXPIRY_AND_CODE.captures(&source[last..])
                && let (Some(whole), Some(code)) = (c.get(0), c.get(1))
            {
                out.push_str(&source[last..last + code.start()]);
                out.push_str(&marker(RedactionKind::CardSecurityCode));
                last += whole.end();
                codes += 1;
            }
        }
        out.push_str(&source[last..]);
        self.text = out;
        if cards > 0 {
            self.note(RedactionKind::CardNumber, cards);
            if codes > 0 {
                self.note(RedactionKind::CardSecurityCode, codes);
            }
            self.group(&SECURITY_CODE, RedactionKind::CardSecurityCode);
        }
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn luhn(number: &str) -> bool {
    let mut sum = 0;
    for (i, c) in number.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// ISO 13616: the rearranged number, letters as 10–35, is 1 mod 97.
fn iban_checks(candidate: &str) -> bool {
    let compact: String = candidate
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

/// The SSA never issues area 000, 666 or 900–999, group 00 or serial 0000.
fn ssn_valid(nine: &str) -> bool {
    if nine.len() != 9 {
        return false;
    }
    let (area, rest) = nine.split_at(3);
    let (group, serial) = rest.split_at(2);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> Redacted {
        Redactor::default().redact(text)
    }

    fn kinds(r: &Redacted) -> Vec<RedactionKind> {
        r.found.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn card_numbers_keep_only_the_last_four_and_take_their_codes_along() {
        let r = redact("My card is 4111 1111 1111 1111 exp 12/27 123, please refund.");
        assert_eq!(
            r.text,
            "My card is [a card number ending 1111 removed] exp 12/27 [a card security code removed], please refund."
        );
        assert_eq!(
            kinds(&r),
            [RedactionKind::CardNumber, RedactionKind::CardSecurityCode]
        );
        let r = redact("Card 5555-5555-5555-4444, CVV: 737");
        assert!(!r.text.contains("5555") && !r.text.contains("737"), "{}", r.text);
        assert!(r.text.contains("ending 4444"));
        // A 19-digit and a 15-digit (Amex) number.
        assert!(redact("6011000990139424").text.contains("ending 9424"));
        assert!(redact("amex 378282246310005").text.contains("ending 0005"));
    }

    #[test]
    fn numbers_that_are_not_card_numbers_survive() {
        for fine in [
            "Order 1234567890123 arrived late",         // 13 digits, not Luhn-valid
            "Call me on +44 20 7946 0958",              // a phone number
            "Invoice 2026-11-21, total 149.99",         // a date and an amount
            "my code review is done",                   // "code" without a number
            "security code 123 (no card in this text)", // a code with no card beside it
            "the password reset link did not arrive",   // "password" without a value
        ] {
            let r = redact(fine);
            assert!(r.is_clean(), "{fine:?} became {:?}", r.text);
            assert_eq!(r.text, fine);
        }
    }

    #[test]
    fn ibans_are_checked_with_mod_97() {
        let r = redact("Please pay to GB82 WEST 1234 5698 7654 32 today");
        assert_eq!(
            r.text,
            "Please pay to [a bank account number (IBAN) removed] today"
        );
        assert!(redact("DE89370400440532013000").text.contains("IBAN"));
        // Followed by a word the pattern could take for one more group.
        assert_eq!(
            redact("send it to ES91 2100 0418 4502 0005 1332 refund please").text,
            "send it to [a bank account number (IBAN) removed] refund please"
        );
        assert!(
            redact("ES9121000418450200051332 thanks")
                .text
                .starts_with("[a bank account")
        );
        // One digit changed: not an IBAN.
        assert!(redact("GB82 WEST 1234 5698 7654 33").is_clean());
    }

    #[test]
    fn social_security_numbers_follow_the_issuing_rules() {
        assert!(
            redact("SSN 123-45-6789")
                .text
                .contains("social security number removed")
        );
        assert!(
            redact("my social security number is 123456789")
                .text
                .contains("removed")
        );
        for never_issued in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(redact(never_issued).is_clean(), "{never_issued}");
        }
    }

    #[test]
    fn passwords_and_codes_typed_as_such_are_removed() {
        let r = redact("my password is hunter2!! and the code is 492817");
        assert_eq!(
            r.text,
            "my password is [a password removed] and the code is [a one-time code removed]"
        );
        assert!(
            redact("Password: c0rrect-h0rse")
                .text
                .contains("[a password removed]")
        );
        assert!(redact("PIN = 4321").text.contains("[a password removed]"));
        assert!(redact("OTP 118833").text.contains("[a one-time code removed]"));
        assert!(
            redact("verification code 556677")
                .text
                .contains("[a one-time code removed]")
        );
        assert!(
            redact("the sms code: 1234")
                .text
                .contains("[a one-time code removed]")
        );
    }

    #[test]
    fn secrets_are_removed_whole() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----";
        let r = redact(&format!("here: {key} thanks"));
        assert_eq!(r.text, "here: [a private key removed] thanks");
        let unterminated = redact("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg");
        assert_eq!(unterminated.text, "[a private key removed]");
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            redact(&format!("token {jwt}")).text,
            "token [an access token removed]"
        );
        for api in [
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        ] {
            assert!(redact(api).text.contains("API key"), "{api}");
        }
        assert!(
            redact("client secret: 8f2b1c9d0e7a6b5c")
                .text
                .contains("[an API key or secret removed]")
        );
    }

    #[test]
    fn custom_patterns_are_checked_and_applied() {
        let r = Redactor::new(&[CustomPattern {
            name: "member number".into(),
            regex: r"\bM-\d{8}\b".into(),
        }])
        .unwrap();
        let out = r.redact("member M-12345678 here");
        assert_eq!(out.text, "member [removed: member number] here");
        assert_eq!(out.found, [(RedactionKind::Custom, 1)]);
        assert!(
            Redactor::new(&[CustomPattern {
                name: "bad".into(),
                regex: "(".into()
            }])
            .is_err()
        );
        assert!(
            Redactor::new(&[CustomPattern {
                name: "empty".into(),
                regex: "x*".into()
            }])
            .is_err()
        );
    }

    #[test]
    fn luhn_and_mod_97_are_right() {
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
        assert!(iban_checks("GB82WEST12345698765432"));
        assert!(!iban_checks("GB00WEST12345698765432"));
    }
}

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
        r"|glpat-[A-Za-z0-9_-]{20,}|pal_[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{30,}|SG\.[\w-]{16,}\.[\w-]{16,}",
        r"|ya29\.[\w-]{20,}|SK[0-9a-fA-F]{32}|ASIA[0-9A-Z]{16}|hooks\.slack\.com/services/[A-Za-z0-9/]{20,})"
    ))
});
/// A bearer token pasted with its header, a cloud secret under its usual name, or a
/// connection string's key.
static HEADER_OR_CLOUD_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"(?i)(?:\bauthorization\s*:\s*(?:bearer|basic|token)\s+|\bbearer\s+",
        r"|aws_secret_access_key\s*[:=]\s*|secret_access_key\s*[:=]\s*|accountkey\s*=\s*|sharedaccesskey\s*=\s*",
        r"|x-api-key\s*:\s*|private_key_id\W{1,4})([A-Za-z0-9._~+/=-]{16,})"
    ))
});
/// A secret introduced as one: "api key: …", "secret = …".
static NAMED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:api[ _-]?key|secret(?:[ _-]?key)?|access[ _-]?key|client[ _-]?secret|token)\s*(?:is\s*:?|:|=)\s*(\S{12,})",
    )
});
/// A password introduced as one, in the supported locales and the usual phrasings:
/// "my pass is …", "password was …", "the password I use is …", "minha senha é …",
/// "mein Passwort ist …", "mi contraseña es …", "mot de passe : …". Group 1 is the
/// word that introduced the value (`:`/`=` or a verb), group 2 the value.
static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"(?i)\b(?:password|passwd|passphrase|passcode|pass|pwd|pw|pin|senha|palavra-passe|passwort|kennwort",
        r"|contraseña|contrasena|clave|mot de passe|mdp|wachtwoord|parola)",
        r"(?:\s+(?:(?:that\s+|which\s+)?(?:i|we)\s+(?:use|used|have|had|set|chose|picked|tried|typed|entered)",
        r"|(?:for|on|of|to)\s+(?:my|the|this|your)?\s*\S+))?",
        r"\s*(:|=|\bis\b|\bwas\b|\bist\b|\bwar\b|\blautet\b|\bes\b|\bera\b|é|\beh\b|\best\b|était|\bis\b)",
        r"\s*:?\s*(\S+)"
    ))
});
/// "login: name / secret", "user: name pass: secret" and the like: the part after
/// the name.
static LOGIN_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:login|log-in|sign-in|credentials|user(?:name)?)\s*[:=]\s*\S+\s*(?:/|\||,|;|\s)\s*(\S+)",
    )
});
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
/// A code the writer was sent: "the code you sent me is 123456", "I got the code 123456".
static SENT_CODE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(concat!(
        r"(?i)\b(?:code\s+(?:that\s+)?(?:you|u|your (?:app|system|email|text|sms))\s+(?:just\s+)?",
        r"(?:sent|texted|emailed|gave|mailed)(?:\s+(?:me|to me|us))?",
        r"|(?:got|received|have|recieved)\s+(?:the|a|your|this)?\s*code)\s*(?:is|was|:|=)?\s*:?\s*(\d{4,8})\b"
    ))
});
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
/// 12–19 digits of any script, each pair apart by nothing, up to three white-space
/// characters of any kind (no-break, thin, ideographic spaces, tabs, line breaks) or
/// one of `- . /`; [`consistent_separators`] then asks for one kind throughout.
static CARD: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b\d(?:(?:\s{1,3}|[-./])?\d){11,18}\b"));
static SECURITY_CODE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\b(?:cvv2?|cvc2?|csc|cid|security code|sec\.? code|card code)\s*(?:is\s*:?|:|=|#)?\s*(\d{3,4})\b",
    )
});
/// An expiry and a trailing three or four digits right after a card number.
static EXPIRY_AND_CODE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*[,;/]?\s*(?:(?i:exp\w*)\W*)?\d{2}\s*/\s*\d{2,4}\s*[,;/]?\s*(\d{3,4})\b"));
/// Country, check digits, then groups of four as IBANs are written (or run together).
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"(?i)\b[A-Z]{2}\d{2}(?:(?:\s{1,2}|[-.])?[A-Z0-9]{4}){2,7}(?:(?:\s{1,2}|[-.])?[A-Z0-9]{1,4})?\b")
});
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
        work.group(&HEADER_OR_CLOUD_SECRET, RedactionKind::ApiKey);
        work.group(&NAMED_SECRET, RedactionKind::ApiKey);
        work.cards();
        work.passwords();
        work.group(&LOGIN_PAIR, RedactionKind::Password);
        work.group(&ONE_TIME_CODE, RedactionKind::OneTimeCode);
        work.group(&SENT_CODE, RedactionKind::OneTimeCode);
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

/// Digits at the very end of a message (a card number's first groups)…
static TRAILING_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\d(?:(?:\s{1,3}|[-./])?\d)*[\s.,;:/-]*\z"));
/// …and at the very start of the next one (its last groups).
static LEADING_DIGITS: LazyLock<Regex> = LazyLock::new(|| pattern(r"\A\s*\d(?:(?:\s{1,3}|[-./])?\d)*"));
/// A message that is only a security code (with an expiry, perhaps), as sent right
/// after a card number.
static LONE_CODE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)\A\W*(?:(?:exp\w*\W*)?\d{1,2}\s*/\s*\d{2,4}\W*)?(?:(?:cvv2?|cvc2?|csc|code)\W*)?(\d{3,4})\W*\z",
    )
});

/// What [`Redactor::redact_following`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Following {
    pub current: Redacted,
    /// The previous message's new text, when part of what was found was in it.
    pub previous: Option<String>,
}

impl Redactor {
    /// Redacts `text`, written right after `previous` (the same writer's last message
    /// in a conversation, as stored): a card number split over the two messages, and a
    /// security code sent in the message after a card, are found across the boundary.
    pub fn redact_following(&self, previous: &str, text: &str) -> Following {
        let mut current = self.redact(text);
        let mut new_previous = None;
        let mut card_before = previous.contains(&format!("[{}", RedactionKind::CardNumber.describe()));
        if let (Some(tail), Some(head)) = (TRAILING_DIGITS.find(previous), LEADING_DIGITS.find(&current.text))
        {
            let number = format!("{}{}", digits(tail.as_str()), digits(head.as_str()));
            if (12..=19).contains(&number.len()) && luhn(&number) {
                new_previous = Some(format!(
                    "{}{}",
                    &previous[..tail.start()],
                    marker(RedactionKind::CardNumber)
                ));
                current.text = format!(
                    "[{} ending {} removed]{}",
                    RedactionKind::CardNumber.describe(),
                    &number[number.len() - 4..],
                    &current.text[head.end()..]
                );
                note(&mut current.found, RedactionKind::CardNumber, 1);
                card_before = true;
            }
        }
        if card_before {
            let mut work = Work {
                text: std::mem::take(&mut current.text),
                found: std::mem::take(&mut current.found),
            };
            work.group(&LONE_CODE, RedactionKind::CardSecurityCode);
            work.group(&SECURITY_CODE, RedactionKind::CardSecurityCode);
            current.text = work.text;
            current.found = work.found;
        }
        current.found.sort();
        Following {
            current,
            previous: new_previous,
        }
    }
}

fn note(found: &mut Vec<(RedactionKind, usize)>, kind: RedactionKind, count: usize) {
    match found.iter_mut().find(|(k, _)| *k == kind) {
        Some((_, n)) => *n += count,
        None => found.push((kind, count)),
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
        note(&mut self.found, kind, count);
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
                    .filter(|(_, c)| c.is_whitespace() || *c == '-' || *c == '.')
                    .map(|(i, c)| i + c.len_utf8()),
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

    /// Passwords introduced as such. A value that is a plain word ("password is
    /// wrong", "my password was the problem") is a complaint, not a password — unless
    /// it was given with `:` or `=`, or the word is a stop word followed by something
    /// password-like ("password is the1stDragon!"), which goes with it.
    fn passwords(&mut self) {
        let source = self.text.clone();
        let mut out = String::with_capacity(source.len());
        let mut last = 0;
        let mut count = 0;
        for c in PASSWORD.captures_iter(&source) {
            let (Some(intro), Some(value)) = (c.get(1), c.get(2)) else {
                continue;
            };
            if value.as_str().starts_with('[') {
                continue;
            }
            let word = value
                .as_str()
                .trim_end_matches(['.', ',', '!', '?', ';'])
                .to_lowercase();
            let explicit = matches!(intro.as_str(), ":" | "=");
            let mut end = value.end();
            if !explicit && NOT_PASSWORDS.contains(&word.as_str()) {
                // "is the …": the next word decides.
                let rest = &source[value.end()..];
                let next = rest.split_whitespace().next().unwrap_or("");
                if !looks_like_secret(next) {
                    continue;
                }
                end = value.end() + (rest.len() - rest.trim_start().len()) + next.len();
            }
            out.push_str(&source[last..value.start()]);
            out.push_str(&marker(RedactionKind::Password));
            last = end;
            count += 1;
        }
        out.push_str(&source[last..]);
        self.text = out;
        if count > 0 {
            self.note(RedactionKind::Password, count);
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
            if !(12..=19).contains(&number.len()) || !luhn(&number) || !consistent_separators(m.as_str()) {
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

/// The first code point of each run of ten decimal digits people are likely to type:
/// ASCII, Arabic-Indic, Extended Arabic-Indic (Persian, Urdu), N'Ko, Devanagari,
/// Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala,
/// Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian, full-width, mathematical digits.
const DIGIT_ZEROS: [u32; 26] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50,
    0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// A decimal digit of any of those scripts as its ASCII digit.
fn ascii_digit(c: char) -> Option<char> {
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .and_then(|zero| char::from_digit(code - zero, 10))
}

/// The digits of `s` (any script), as ASCII.
fn digits(s: &str) -> String {
    s.chars().filter_map(ascii_digit).collect()
}

/// Whether the separators between a candidate card number's digits are of one kind
/// (white space of any sort, or the same punctuation mark), as a card number is
/// written; "12.03.2024 15.00" mixes them and is two numbers.
fn consistent_separators(candidate: &str) -> bool {
    let mut kind: Option<char> = None;
    for c in candidate.chars().filter(|c| !c.is_numeric()) {
        let this = if c.is_whitespace() { ' ' } else { c };
        if *kind.get_or_insert(this) != this {
            return false;
        }
    }
    true
}

/// Whether a word looks like a secret rather than prose: it has a digit, a symbol, or
/// a capital letter after its first character.
fn looks_like_secret(word: &str) -> bool {
    let word = word.trim_end_matches(['.', ',', '!', '?', ';']);
    word.chars().count() >= 4
        && word.chars().enumerate().any(|(i, c)| {
            c.is_numeric() || !(c.is_alphabetic() || c == '\'' || c == '-') || (i > 0 && c.is_uppercase())
        })
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
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
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

    #[test]
    fn card_numbers_in_any_format_are_found() {
        for written in [
            "4111.1111.1111.1111",
            "4111/1111/1111/1111",
            "4111\t1111\t1111\t1111",
            "4111\r\n1111\r\n1111\r\n1111",
            "4111  1111  1111  1111",
            "4111\u{00A0}1111\u{00A0}1111\u{00A0}1111",
            "4111\u{2009}1111\u{2009}1111\u{2009}1111",
            "4111\u{202F}1111\u{202F}1111\u{202F}1111",
            "\u{FF14}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}\u{FF11}",
            "\u{0664}\u{0661}\u{0661}\u{0661} \u{0661}\u{0661}\u{0661}\u{0661} \u{0661}\u{0661}\u{0661}\u{0661} \u{0661}\u{0661}\u{0661}\u{0661}",
            "\u{06F4}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}\u{06F1}",
        ] {
            let r = redact(&format!("my card: {written} thanks"));
            assert!(
                r.text.contains("card number ending 1111"),
                "{written:?} became {:?}",
                r.text
            );
            assert_eq!(
                r.text.matches("1111").count(),
                1,
                "only the marker's last four: {:?}",
                r.text
            );
            assert!(
                !r.text.contains('\u{FF11}') && !r.text.contains('\u{0661}') && !r.text.contains('\u{06F1}')
            );
        }
        // Mixed separators are two numbers, not one card.
        assert!(redact("on 12.03.2024 15.00 and 4111 1111").is_clean());
    }

    #[test]
    fn a_card_split_over_two_messages_and_a_code_sent_after_it_are_found() {
        let r = Redactor::default();
        let f = r.redact_following("my card is 4111 1111", "1111 1111 and that's it");
        assert_eq!(f.previous.as_deref(), Some("my card is [a card number removed]"));
        assert_eq!(
            f.current.text,
            "[a card number ending 1111 removed] and that's it"
        );
        let f = r.redact_following("[a card number ending 1111 removed]", "123");
        assert_eq!(f.current.text, "[a card security code removed]");
        let f = r.redact_following("[a card number ending 1111 removed]", "exp 12/27 cvv 737");
        assert!(!f.current.text.contains("737"), "{}", f.current.text);
        // Without a card before, a short number is just a number.
        let f = r.redact_following("what is my order status?", "123");
        assert_eq!((f.current.text.as_str(), f.previous), ("123", None));
        let f = r.redact_following("order 4111", "1111 arrived broken");
        assert!(f.previous.is_none(), "eight digits are no card");
    }

    #[test]
    fn passwords_in_other_phrasings_and_languages_are_removed() {
        for (text, secret) in [
            ("my pass is Tr0ub4dor", "Tr0ub4dor"),
            ("the password was hunter22", "hunter22"),
            ("the password I use is blue-horse-9", "blue-horse-9"),
            ("password for my account is kittens77", "kittens77"),
            ("login: ann / s3cretPass", "s3cretPass"),
            ("minha senha é gatinho123", "gatinho123"),
            ("mein Passwort ist Sonne2024", "Sonne2024"),
            ("mi contraseña es perro99", "perro99"),
            ("mot de passe : chaton42", "chaton42"),
            ("my password is the1stDragon!", "the1stDragon"),
            ("password: the", "password: the"),
        ] {
            let r = redact(text);
            assert!(!r.text.contains(secret), "{text:?} became {:?}", r.text);
            assert!(
                r.text.contains("[a password removed]"),
                "{text:?} became {:?}",
                r.text
            );
        }
        for complaint in [
            "my password is wrong",
            "the password was the problem",
            "password is not working",
        ] {
            assert!(redact(complaint).is_clean(), "{complaint}");
        }
    }

    #[test]
    fn ibans_with_other_separators_and_more_secrets_are_removed() {
        for iban in [
            "GB82-WEST-1234-5698-7654-32",
            "GB82.WEST.1234.5698.7654.32",
            "GB82\u{00A0}WEST\u{00A0}1234\u{00A0}5698\u{00A0}7654\u{00A0}32",
        ] {
            assert!(redact(iban).text.contains("IBAN"), "{iban:?}");
        }
        for (text, secret) in [
            ("token pal_Abcdefghijklmnop1234567890", "pal_Abcdefghijklmnop"),
            ("Authorization: Bearer abcDEF1234567890ghiJKL", "abcDEF1234567890"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI",
            ),
            (
                "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==",
                "Eby8vdM02",
            ),
            ("the code you sent me is 482910", "482910"),
            ("I got the code 771234", "771234"),
        ] {
            let r = redact(text);
            assert!(!r.text.contains(secret), "{text:?} became {:?}", r.text);
        }
    }
}

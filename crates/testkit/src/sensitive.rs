//! Generators of what customers must never send — card numbers, IBANs, secrets — in
//! the many forms people type them, for the redaction property tests (unit level in
//! `assist`, end to end in `web`).

use proptest::prelude::*;

pub fn luhn_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

pub fn luhn_valid(number: &str) -> bool {
    let (body, last) = number.split_at(number.len() - 1);
    last.parse::<u32>().is_ok_and(|l| luhn_check_digit(body) == l)
}

/// A Luhn-valid card number of a real brand's prefix and length.
pub fn card_number() -> impl Strategy<Value = String> {
    let brands = prop_oneof![
        Just(("4", 16)),
        Just(("4", 13)),
        Just(("4", 19)),
        Just(("51", 16)),
        Just(("55", 16)),
        Just(("2221", 16)),
        Just(("34", 15)),
        Just(("37", 15)),
        Just(("6011", 16)),
        Just(("65", 19)),
        Just(("35", 16)),
        Just(("62", 18)),
    ];
    (brands, proptest::collection::vec(0u8..10, 19)).prop_map(|((prefix, len), digits)| {
        let mut body: String = prefix.to_owned();
        for d in digits.iter().take(len - 1 - prefix.len()) {
            body.push(char::from(b'0' + d));
        }
        let check = luhn_check_digit(&body);
        format!("{body}{check}")
    })
}

/// The number as people type it.
pub fn written(number: &str, separator: &str, amex_style: bool) -> String {
    let groups: Vec<usize> = if amex_style && number.len() == 15 {
        vec![4, 6, 5]
    } else {
        let mut g = vec![4; number.len() / 4];
        if !number.len().is_multiple_of(4) {
            g.push(number.len() % 4);
        }
        g
    };
    let mut out = Vec::new();
    let mut at = 0;
    for size in groups {
        out.push(&number[at..at + size]);
        at += size;
    }
    out.join(separator)
}

pub fn words() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("please"),
            Just("refund"),
            Just("my"),
            Just("order"),
            Just("thanks"),
            Just("urgent"),
            Just("the"),
            Just("account"),
            Just("(see below)"),
            Just("—"),
            Just("\n"),
            Just("Grüße"),
        ],
        0..6,
    )
    .prop_map(|w| w.join(" "))
}

pub fn iban() -> impl Strategy<Value = String> {
    // (country, BBAN shape: 'n' digit, 'a' upper-case letter)
    let countries = prop_oneof![
        Just(("DE", "nnnnnnnnnnnnnnnnnn")),
        Just(("GB", "aaaannnnnnnnnnnnnn")),
        Just(("NL", "aaaannnnnnnnnn")),
        Just(("FR", "nnnnnnnnnnnnnnnnnnnnnnn")),
        Just(("ES", "nnnnnnnnnnnnnnnnnnnn")),
        Just(("CH", "nnnnnnnnnnnnnnnnn")),
    ];
    (countries, proptest::collection::vec(0u8..26, 30)).prop_map(|((country, shape), r)| {
        let bban: String = shape
            .chars()
            .zip(r)
            .map(|(kind, v)| {
                if kind == 'n' {
                    char::from(b'0' + v % 10)
                } else {
                    char::from(b'A' + v)
                }
            })
            .collect();
        let rearranged = format!("{bban}{country}00");
        let mut remainder: u32 = 0;
        for c in rearranged.chars() {
            let value = c.to_digit(36).unwrap_or(0);
            for d in value.to_string().chars() {
                remainder = (remainder * 10 + d.to_digit(10).unwrap_or(0)) % 97;
            }
        }
        format!("{country}{:02}{bban}", 98 - remainder)
    })
}

pub fn grouped(text: &str, size: usize) -> String {
    text.chars()
        .collect::<Vec<_>>()
        .chunks(size)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn alnum(len: usize, alphabet: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(0..alphabet.len(), len)
        .prop_map(move |ix| ix.into_iter().map(|i| alphabet.as_bytes()[i] as char).collect())
}

pub const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        alnum(16, UPPER_DIGITS).prop_map(|s| format!("AKIA{s}")),
        alnum(36, ALNUM).prop_map(|s| format!("ghp_{s}")),
        alnum(24, ALNUM).prop_map(|s| format!("sk_live_{s}")),
        alnum(40, ALNUM).prop_map(|s| format!("sk-{s}")),
        alnum(35, B64URL).prop_map(|s| format!("AIza{s}")),
        alnum(20, B64URL).prop_map(|s| format!("glpat-{s}")),
        (alnum(20, B64URL), alnum(30, B64URL), alnum(43, B64URL))
            .prop_map(|(a, b, c)| format!("eyJ{a}.eyJ{b}.{c}")),
        alnum(64, ALNUM)
            .prop_map(|s| format!("-----BEGIN PRIVATE KEY-----\nMIIE{s}\n{s}\n-----END PRIVATE KEY-----")),
        alnum(32, B64URL).prop_map(|s| format!("pal_{s}")),
    ]
}

/// A secret pasted with the label that says what it is: `(label, value)`.
pub fn labelled_secret() -> impl Strategy<Value = (&'static str, String)> {
    (
        prop_oneof![
            Just("Authorization: Bearer "),
            Just("authorization: token "),
            Just("Bearer "),
            Just("aws_secret_access_key = "),
            Just("AccountKey="),
            Just("x-api-key: "),
        ],
        alnum(40, ALNUM),
    )
}

/// Separators people (and their keyboards and phones) put between card digit groups:
/// spaces of every width, tabs, line breaks, dots, slashes, dashes.
pub fn card_separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(""),
        Just(" "),
        Just("  "),
        Just("-"),
        Just("."),
        Just("/"),
        Just("\t"),
        Just("\r\n"),
        Just("\n"),
        Just("\u{00A0}"),
        Just("\u{2009}"),
        Just("\u{202F}"),
        Just("\u{3000}"),
    ]
}

/// The digits of `text` in another script: ASCII, full-width, Arabic-Indic or
/// Extended Arabic-Indic (Persian).
pub fn in_script(text: &str, script: u8) -> String {
    let zero = match script % 4 {
        0 => u32::from('0'),
        1 => 0xFF10,
        2 => 0x0660,
        _ => 0x06F0,
    };
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(zero + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// A password introduced in one of the phrasings and languages people use.
pub fn password_lead() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("my password is"),
        Just("password:"),
        Just("pwd ="),
        Just("passphrase is"),
        Just("my pass is"),
        Just("the password was"),
        Just("the password I use is"),
        Just("password for my account is"),
        Just("minha senha é"),
        Just("mein Passwort ist"),
        Just("mi contraseña es"),
        Just("mot de passe :"),
    ]
}

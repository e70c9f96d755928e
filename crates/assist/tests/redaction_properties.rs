//! Property tests of redaction: card numbers (every major prefix and length, valid by
//! Luhn, in any grouping, with every separator people type — spaces of any width,
//! tabs, line breaks, dots, slashes, dashes — and in full-width or Arabic-Indic
//! digits, whole or split over two chat messages with the security code after), IBANs (several
//! countries, check digits computed, compact or grouped, any case), US social security
//! numbers, passwords and one-time codes typed as such, and secrets (provider API keys,
//! JWTs, private keys) — embedded anywhere in ordinary text — never survive; ordinary
//! numbers (order numbers, phone numbers, dates, amounts) are left exactly as written.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use palisade_assist::Redactor;
use palisade_testkit::sensitive::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn card_numbers_never_survive(number in card_number(), sep in card_separator(), script in any::<u8>(),
                                  amex in any::<bool>(), before in words(), after in words()) {
        let typed = in_script(&written(&number, sep, amex), script);
        let text = format!("{before} {typed} {after}");
        let out = Redactor::default().redact(&text).text;
        prop_assert!(!out.contains(&typed), "{text:?} -> {out:?}");
        let digits: String = out.chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!digits.contains(&number), "{text:?} -> {out:?}");
        // At most the last four stay (the marker names them); never the middle digits,
        // looked for outside the marker (they may happen to occur among the last four).
        let ending = format!("ending {}", &number[number.len() - 4..]);
        prop_assert!(out.contains(&ending), "{:?} -> {:?}", text, out);
        let middle = &number[6..number.len() - 4];
        let outside: String = out.replace(&ending, "").chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!outside.contains(middle), "{text:?} -> {out:?}");
    }

    #[test]
    fn a_code_beside_a_card_goes_with_it(number in card_number(), code in 100u32..10000, month in 1u32..13, year in 26u32..40) {
        // The marker keeps the card's last four, which may be the same digits.
        prop_assume!(!number.ends_with(&code.to_string()));
        let text = format!("card {} exp {month:02}/{year} cvv {code} thanks", written(&number, " ", false));
        let out = Redactor::default().redact(&text).text;
        prop_assert!(!out.contains(&format!("cvv {code}")), "{text:?} -> {out:?}");
        prop_assert!(!out.split(|c: char| !c.is_ascii_digit()).any(|w| w == code.to_string()), "{text:?} -> {out:?}");
    }

    #[test]
    fn a_card_split_over_two_messages_and_a_code_sent_next_never_survive(
        number in card_number(), cut in 4usize..10, code in 100u32..1000, sep in card_separator(),
    ) {
        let typed = written(&number, sep, false);
        let digits_seen = typed.char_indices().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect::<Vec<_>>();
        let split = digits_seen[cut];
        let (first, second) = typed.split_at(split);
        let redactor = Redactor::default();
        let earlier = redactor.redact(&format!("my card is {first}"));
        let next = redactor.redact_following(&earlier.text, second);
        let stored_first = next.previous.clone().unwrap_or(earlier.text.clone());
        let all: String = format!("{stored_first}{}", next.current.text).chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!all.contains(&number[..number.len() - 4]), "{first:?} + {second:?} -> {stored_first:?} + {:?}", next.current.text);
        let code_message = redactor.redact_following(&next.current.text, &code.to_string());
        prop_assert!(!code_message.current.text.contains(&code.to_string()), "{:?}", code_message.current.text);
    }

    #[test]
    fn ibans_never_survive(iban in iban(), spaced in any::<bool>(), lower in any::<bool>(), before in words(), after in words(),
                           sep in prop_oneof![Just(" "), Just("-"), Just("."), Just("\u{00A0}")]) {
        let mut typed = if spaced { grouped(&iban, 4).replace(' ', sep) } else { iban.clone() };
        if lower {
            typed = typed.to_lowercase();
        }
        let text = format!("{before} {typed} {after}");
        let out = Redactor::default().redact(&text).text;
        let squeezed: String = out.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
        prop_assert!(!squeezed.contains(&iban[4..]), "{text:?} -> {out:?}");
    }

    #[test]
    fn social_security_numbers_never_survive(area in 1u32..900, group in 1u32..100, serial in 1u32..10000, before in words()) {
        prop_assume!(area != 666);
        let ssn = format!("{area:03}-{group:02}-{serial:04}");
        let text = format!("{before} my SSN is {ssn}");
        let out = Redactor::default().redact(&text).text;
        prop_assert!(!out.contains(&ssn), "{text:?} -> {out:?}");
    }

    #[test]
    fn secrets_never_survive(secret in secret(), before in words(), after in words()) {
        let text = format!("{before} {secret} {after}");
        let out = Redactor::default().redact(&text).text;
        // No 12-character piece of the secret is left.
        let chars: Vec<char> = secret.chars().filter(|c| !c.is_whitespace()).collect();
        for w in chars.windows(12) {
            let piece: String = w.iter().collect();
            if piece.starts_with("-----") || piece.contains("PRIVATE") {
                continue; // the armour lines are not the secret
            }
            prop_assert!(!out.contains(&piece), "{piece:?} survived: {text:?} -> {out:?}");
        }
    }

    #[test]
    fn labelled_secrets_never_survive((label, value) in labelled_secret(), before in words(), after in words()) {
        let text = format!("{before} {label}{value} {after}");
        let out = Redactor::default().redact(&text).text;
        for w in value.as_bytes().windows(12) {
            let piece = std::str::from_utf8(w).unwrap();
            prop_assert!(!out.contains(piece), "{piece:?} survived: {text:?} -> {out:?}");
        }
    }

    #[test]
    fn passwords_and_codes_typed_as_such_never_survive(
        value in alnum(12, "abcdefghijkLMNOP0123456789!#%&*+"),
        code in 100_000u32..1_000_000,
        lead in password_lead(),
        code_lead in prop_oneof![Just("OTP"), Just("verification code:"), Just("my 2FA code is"), Just("one-time code")],
    ) {
        let text = format!("hi, {lead} {value} and {code_lead} {code}");
        let out = Redactor::default().redact(&text).text;
        prop_assert!(!out.contains(&value), "{text:?} -> {out:?}");
        prop_assert!(!out.contains(&code.to_string()), "{text:?} -> {out:?}");
    }

    #[test]
    fn ordinary_numbers_are_kept(
        order in 1_000u64..100_000_000_000,
        long in 1_000_000_000_000u64..10_000_000_000_000_000,
        phone_area in 200u32..1000, phone_mid in 100u32..1000, phone_end in 0u32..10000,
        day in 1u32..29, amount in 1u32..100_000,
    ) {
        let long = long.to_string();
        // A long reference number that is not Luhn-valid (a valid one is a card by design).
        prop_assume!(!luhn_valid(&long));
        for text in [
            format!("Order #{order} arrived damaged"),
            format!("Reference {long} on the invoice"),
            format!("Call me on +1 {phone_area}-{phone_mid}-{phone_end:04}"),
            format!("or ({phone_area}) {phone_mid} {phone_end:04}"),
            format!("Delivered 2026-11-{day:02}, total €{amount}.99"),
        ] {
            let r = Redactor::default().redact(&text);
            prop_assert!(r.is_clean(), "{text:?} became {:?}", r.text);
            prop_assert_eq!(&r.text, &text);
        }
    }
}

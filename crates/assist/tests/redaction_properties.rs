//! Property tests of redaction: card numbers (every major prefix and length, valid by
//! Luhn, written with or without spaces and dashes, in any grouping), IBANs (several
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
    fn card_numbers_never_survive(number in card_number(), sep in prop_oneof![Just(""), Just(" "), Just("-")],
                                  amex in any::<bool>(), before in words(), after in words()) {
        let typed = written(&number, sep, amex);
        let text = format!("{before} {typed} {after}");
        let out = Redactor::default().redact(&text).text;
        let digits: String = out.chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!digits.contains(&number), "{text:?} -> {out:?}");
        // At most the last four stay (the marker names them); never the middle digits.
        let middle = &number[6..number.len() - 4];
        prop_assert!(!digits.contains(middle), "{text:?} -> {out:?}");
        let ending = format!("ending {}", &number[number.len() - 4..]);
        prop_assert!(out.contains(&ending), "{:?} -> {:?}", text, out);
    }

    #[test]
    fn a_code_beside_a_card_goes_with_it(number in card_number(), code in 100u32..10000, month in 1u32..13, year in 26u32..40) {
        let text = format!("card {} exp {month:02}/{year} cvv {code} thanks", written(&number, " ", false));
        let out = Redactor::default().redact(&text).text;
        prop_assert!(!out.contains(&format!("cvv {code}")), "{text:?} -> {out:?}");
        prop_assert!(!out.split(|c: char| !c.is_ascii_digit()).any(|w| w == code.to_string()), "{text:?} -> {out:?}");
    }

    #[test]
    fn ibans_never_survive(iban in iban(), spaced in any::<bool>(), lower in any::<bool>(), before in words(), after in words()) {
        let mut typed = if spaced { grouped(&iban, 4) } else { iban.clone() };
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
    fn passwords_and_codes_typed_as_such_never_survive(
        value in alnum(12, "abcdefghijkLMNOP0123456789!#%&*+"),
        code in 100_000u32..1_000_000,
        lead in prop_oneof![Just("my password is"), Just("password:"), Just("pwd ="), Just("passphrase is")],
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

//! The `From` parser never panics, and whatever it accepts is one plain address: one
//! `@`, no whitespace, quotes, comments or control characters, and stable when parsed
//! again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    if let Ok(mailbox) = palisade_mail::parse_from_header(value) {
        let address = mailbox.address.as_str();
        assert_eq!(address.matches('@').count(), 1, "{value:?} -> {address:?}");
        assert!(
            !address.contains([' ', '\t', '"', '(', ')', '<', '>', ',', ';', ':']),
            "{value:?} -> {address:?}"
        );
        assert!(!address.chars().any(char::is_control), "{value:?}");
        let again = palisade_mail::parse_from_header(address).expect("an accepted address parses again");
        assert_eq!(again.address, mailbox.address);
    }
});

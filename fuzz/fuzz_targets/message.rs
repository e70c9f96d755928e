//! The strict message reader never panics; a message it accepts has CRLF-only line
//! endings and no NUL, exactly one From field, and a body offset inside the message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    if let Ok(message) = palisade_mail::read_message(raw) {
        assert!(palisade_mail::check_line_endings(raw).is_ok());
        assert!(message.body_offset <= raw.len());
        assert_eq!(
            message.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("from")).count(),
            1
        );
        for h in &message.headers {
            assert!(!h.name.is_empty() && h.name.bytes().all(|b| (33..=126).contains(&b) && b != b':'));
        }
    }
});

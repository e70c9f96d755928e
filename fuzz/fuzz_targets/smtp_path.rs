//! SMTP paths never panic; accepted ones are `<>` (when allowed) or one plain address.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|path: &str| {
    for allow_null in [false, true] {
        match palisade_mail::parse_smtp_path(path, allow_null) {
            Ok(Some(address)) => {
                assert_eq!(address.as_str().matches('@').count(), 1);
                assert!(path.starts_with('<') && path.ends_with('>'));
            }
            Ok(None) => assert!(allow_null && path == "<>"),
            Err(_) => {}
        }
    }
});

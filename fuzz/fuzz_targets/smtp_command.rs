//! SMTP command lines never panic; an accepted line ends in exactly one CRLF with no
//! other CR or LF, and any address it yields is one plain address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_mail::{Command, parse_command};

fuzz_target!(|line: &[u8]| {
    if let Ok(command) = parse_command(line) {
        assert!(line.ends_with(b"\r\n"));
        let body = &line[..line.len() - 2];
        assert!(!body.contains(&b'\r') && !body.contains(&b'\n'));
        match command {
            Command::MailFrom { from: Some(a), .. } | Command::RcptTo(a) => {
                assert_eq!(a.as_str().matches('@').count(), 1);
            }
            _ => {}
        }
    }
});

#![no_main]
// The DATA reader never panics, never consumes past what it was given, and what it
// keeps never holds a bare CR, a bare LF or a NUL.
use libfuzzer_sys::fuzz_target;
use palisade_mail::{DataProgress, DataReader};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut reader = DataReader::new(1 << 16);
    let (first, progress) = reader.feed(&data[..split]);
    assert!(first <= split);
    if progress == DataProgress::More {
        let (second, _) = reader.feed(&data[split..]);
        assert!(second <= data.len() - split);
    }
    if let Some(message) = reader.into_message() {
        assert!(!message.contains(&0));
        for (i, b) in message.iter().enumerate() {
            if *b == b'\r' {
                assert_eq!(message.get(i + 1), Some(&b'\n'));
            }
            if *b == b'\n' {
                assert!(i > 0 && message[i - 1] == b'\r');
            }
        }
    }
});

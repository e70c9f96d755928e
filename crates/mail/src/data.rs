//! The message after DATA, read strictly (RFC 5321 section 4.1.1.4): it ends only at
//! `CR LF . CR LF`, lines are unstuffed, and any bare CR, bare LF or NUL is a framing
//! violation. SMTP smuggling (2023) lives in the gap between servers that end DATA at
//! different sequences (`LF . LF`, `CR LF . CR`, `CR LF . CR CR LF`, …): here every one
//! of them is a violation, and the listener answers it and closes the connection, so
//! no byte after it is ever read as a command. Pure, no I/O, fuzzed.

/// Why the data was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingViolation {
    /// A CR not followed by LF.
    BareCr,
    /// An LF not preceded by CR.
    BareLf,
    Nul,
}

/// What one call to [`DataReader::feed`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum DataProgress {
    /// More input is needed.
    More,
    /// `CR LF . CR LF` was read; the bytes after it (not consumed) are the client's.
    Done,
    /// The data is broken; nothing after it may be interpreted.
    Violation(FramingViolation),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (DATA's own CRLF counts as the line before the first).
    LineStart,
    InLine,
    /// A CR inside a line, waiting for its LF.
    Cr,
    /// A line that began with '.'.
    Dot,
    /// '.' then CR at the start of a line: only LF may follow, and it ends the data.
    DotCr,
}

/// Reads one message's data incrementally, keeping at most `max` bytes of it.
pub struct DataReader {
    state: State,
    message: Vec<u8>,
    max: usize,
    too_large: bool,
}

impl DataReader {
    pub fn new(max: usize) -> Self {
        Self {
            state: State::LineStart,
            message: Vec::new(),
            max,
            too_large: false,
        }
    }

    /// Reads from `input`; returns how many bytes it consumed and what it found. After
    /// `Done`, the unconsumed rest belongs to the next command; after `Violation`,
    /// nothing may be read any more.
    pub fn feed(&mut self, input: &[u8]) -> (usize, DataProgress) {
        for (i, &byte) in input.iter().enumerate() {
            if byte == 0 {
                return (i + 1, DataProgress::Violation(FramingViolation::Nul));
            }
            let next = match (self.state, byte) {
                (State::LineStart | State::InLine | State::Dot, b'\n') => {
                    return (i + 1, DataProgress::Violation(FramingViolation::BareLf));
                }
                (State::Cr | State::DotCr, b) if b != b'\n' => {
                    return (i + 1, DataProgress::Violation(FramingViolation::BareCr));
                }
                (State::DotCr, _) => return (i + 1, DataProgress::Done),
                (State::Cr, _) => {
                    self.keep(b"\r\n");
                    State::LineStart
                }
                (State::LineStart, b'.') => State::Dot,
                (State::LineStart | State::InLine | State::Dot, b'\r') => {
                    if self.state == State::Dot {
                        State::DotCr
                    } else {
                        State::Cr
                    }
                }
                // A stuffed line: the leading dot was added by the client; drop it.
                (State::LineStart | State::InLine | State::Dot, b) => {
                    self.keep(&[b]);
                    State::InLine
                }
            };
            self.state = next;
        }
        (input.len(), DataProgress::More)
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.too_large {
            return;
        }
        self.message.extend_from_slice(bytes);
        if self.message.len() > self.max {
            self.too_large = true;
            self.message = Vec::new();
        }
    }

    /// The message, unless it grew past the limit.
    pub fn into_message(self) -> Option<Vec<u8>> {
        (!self.too_large).then_some(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> (usize, DataProgress, Option<Vec<u8>>) {
        let mut reader = DataReader::new(1 << 20);
        let (used, progress) = reader.feed(input);
        (used, progress, reader.into_message())
    }

    #[test]
    fn ends_at_crlf_dot_crlf_and_unstuffs() {
        let (used, progress, message) = read(b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n");
        assert_eq!(progress, DataProgress::Done);
        assert_eq!(message.unwrap(), b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n");
        assert_eq!(used, b"Subject: x\r\n\r\n..leading dot\r\nbody\r\n.\r\n".len());
    }

    #[test]
    fn an_empty_message_ends_at_the_first_dot_line() {
        assert_eq!(read(b".\r\n").1, DataProgress::Done);
    }

    #[test]
    fn split_anywhere_gives_the_same_result() {
        let input: &[u8] = b"a\r\n..b\r\n.\r\n";
        for split in 0..input.len() {
            let mut reader = DataReader::new(100);
            let (first, p1) = reader.feed(&input[..split]);
            assert_eq!((first, p1), (split, DataProgress::More));
            let (_, p2) = reader.feed(&input[split..]);
            assert_eq!(p2, DataProgress::Done, "split at {split}");
            assert_eq!(reader.into_message().unwrap(), b"a\r\n.b\r\n");
        }
    }

    /// Every end-of-data variant from the SMTP smuggling research (Longin 2023 and the
    /// follow-ups for Postfix, Sendmail, Exchange, Cisco): none ends the data, each is
    /// a violation at the point it breaks the grammar.
    #[test]
    fn every_smuggling_end_of_data_variant_is_a_violation() {
        use FramingViolation::*;
        for (variant, want) in [
            (&b"\n.\n"[..], BareLf),
            (b"\n.\r\n", BareLf),
            (b"\r\n.\n", BareLf),
            (b"\r.\r", BareCr),
            (b"\r.\r\n", BareCr),
            (b"\r\n.\r", BareCr),
            (b"\r\n.\r\r\n", BareCr),
            (b"\r\n.\rX", BareCr),
            (b"\r\r\n.\r\r\n", BareCr),
            (b"\n\n.\n\n", BareLf),
            (b"\r\n\x00.\r\n", Nul),
            (b"\r\n.\x00\r\n", Nul),
        ] {
            let mut input = b"Subject: first\r\n\r\nhello".to_vec();
            input.extend_from_slice(variant);
            input.extend_from_slice(b"MAIL FROM:<evil@example.com>\r\n");
            let (used, progress, _) = read(&input);
            assert_eq!(progress, DataProgress::Violation(want), "{variant:?}");
            assert!(
                used < input.len() - 20,
                "stopped at the violation for {variant:?}"
            );
        }
    }

    #[test]
    fn bare_line_endings_inside_lines_are_violations_too() {
        assert_eq!(
            read(b"a\rb\r\n.\r\n").1,
            DataProgress::Violation(FramingViolation::BareCr)
        );
        assert_eq!(
            read(b"a\nb\r\n.\r\n").1,
            DataProgress::Violation(FramingViolation::BareLf)
        );
    }

    #[test]
    fn too_large_is_read_to_the_end_and_dropped() {
        let mut reader = DataReader::new(4);
        let (_, progress) = reader.feed(b"0123456789\r\n.\r\n");
        assert_eq!(progress, DataProgress::Done);
        assert_eq!(reader.into_message(), None);
    }
}

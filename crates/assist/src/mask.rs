//! How customers' contact details look to staff until they step up and unmask them:
//! enough to recognise a customer ("a•••@e•••.com", "•••• 34"), not enough to copy,
//! screenshot or read aloud.

const HIDDEN: &str = "•••";

/// `anna@example.com` → `a•••@e•••.com`: first letters and the top-level domain kept.
pub fn mask_email(address: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return HIDDEN.into();
    };
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let tld = domain.rsplit_once('.').map(|(_, tld)| tld).unwrap_or_default();
    format!("{}{HIDDEN}@{}{HIDDEN}.{tld}", first(local), first(domain))
}

/// `+44 20 7946 0123` → `••• 23`: only the last two digits kept.
pub fn mask_phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0..=4 => HIDDEN.into(),
        n => format!("{HIDDEN} {}{}", digits[n - 2], digits[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_values_keep_too_little_to_use() {
        assert_eq!(mask_email("anna.smith@example.com"), "a•••@e•••.com");
        assert_eq!(mask_email("x@localhost"), "x•••@l•••.");
        assert_eq!(mask_email("not an address"), "•••");
        assert_eq!(mask_phone("+44 20 7946 0123"), "••• 23");
        assert_eq!(mask_phone("112"), "•••");
        for (clear, masked) in [
            ("anna.smith@example.com", mask_email("anna.smith@example.com")),
            ("+44 20 7946 0123", mask_phone("+44 20 7946 0123")),
        ] {
            assert!(!masked.contains("smith") && !masked.contains("example") && !masked.contains("7946"));
            assert_ne!(clear, masked);
        }
    }
}

//! Lookalike sender domains: a domain that is not a known one (the organisation's own,
//! or one whose mail already reached a ticket) but reads like one — confusable
//! characters (`paypa1.com`, `rnicrosoft.com`, Cyrillic letters in an IDN) or a small
//! edit distance (`exarnple.com`, `example.co`). Authentication says who sent a
//! message; this says whether the name is meant to be mistaken for someone else's, so
//! agents are warned. It never changes where a message goes.

/// Why a domain was flagged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookalike {
    /// The known domain it resembles.
    pub resembles: String,
    pub reason: LookalikeReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookalikeReason {
    /// The same after mapping confusable characters (and decoding an IDN).
    Confusable,
    /// One or two edits away.
    EditDistance,
}

impl LookalikeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confusable => "confusable_characters",
            Self::EditDistance => "edit_distance",
        }
    }
}

/// The first known domain `domain` imitates, if any. Equal domains and parent/child
/// domains of a known one are the known organisation, not lookalikes.
pub fn lookalike<'a>(domain: &str, known: impl IntoIterator<Item = &'a str>) -> Option<Lookalike> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let unicode = decode_idn(&domain);
    let skeleton = skeleton(&unicode);
    for candidate in known {
        let candidate = candidate.trim_end_matches('.').to_ascii_lowercase();
        if candidate.is_empty() || crate::aligned(&candidate, &domain) {
            continue;
        }
        if skeleton == self::skeleton(&decode_idn(&candidate)) {
            return Some(Lookalike {
                resembles: candidate,
                reason: LookalikeReason::Confusable,
            });
        }
        let allowed = match candidate.chars().count() {
            0..=5 => 0,
            6..=11 => 1,
            _ => 2,
        };
        if allowed > 0 && within_distance(&unicode, &candidate, allowed) {
            return Some(Lookalike {
                resembles: candidate,
                reason: LookalikeReason::EditDistance,
            });
        }
    }
    None
}

/// `xn--` labels decoded to Unicode (what a reader of the domain would see).
fn decode_idn(domain: &str) -> String {
    if !domain.split('.').any(|label| label.starts_with("xn--")) {
        return domain.to_owned();
    }
    let (unicode, result) = idna::domain_to_unicode(domain);
    if result.is_ok() {
        unicode
    } else {
        domain.to_owned()
    }
}

/// A reading in which look-alike characters coincide: Latin letters for their Greek
/// and Cyrillic twins, `l` for `1`/`i`/`I`, `o` for `0`, `m` for `rn`, `w` for `vv`,
/// `d` for `cl`; hyphens and dots kept.
fn skeleton(domain: &str) -> String {
    let mut mapped = String::with_capacity(domain.len());
    for c in domain.chars().flat_map(char::to_lowercase) {
        mapped.push(match c {
            '0' | 'о' | 'ο' | 'σ' | 'ö' | 'ó' | 'ò' | 'ô' => 'o',
            '1' | 'i' | 'í' | 'ì' | 'ı' | 'і' | 'ι' | '|' | 'ӏ' | 'ł' => 'l',
            'а' | 'α' | 'á' | 'à' | 'â' | 'ä' | 'å' => 'a',
            'е' | 'ε' | 'é' | 'è' | 'ê' | 'ë' => 'e',
            'с' | 'ϲ' | 'ç' => 'c',
            'р' | 'ρ' => 'p',
            'х' | 'χ' => 'x',
            'у' | 'γ' | 'ý' => 'y',
            'ѕ' | '5' | '$' => 's',
            'к' | 'κ' => 'k',
            'т' | 'τ' => 't',
            'н' | 'η' => 'n',
            'ν' | 'υ' | 'ü' | 'ú' | 'ù' => 'u',
            'в' | 'β' | '8' => 'b',
            'м' => 'm',
            'ԁ' => 'd',
            'ɡ' | '9' => 'g',
            'ј' | 'ϳ' => 'j',
            'һ' => 'h',
            'ԛ' => 'q',
            'ԝ' | 'ω' => 'w',
            'ᴢ' | '2' => 'z',
            other => other,
        });
    }
    mapped.replace("rn", "m").replace("vv", "w").replace("cl", "d")
}

/// Levenshtein distance at most `max` (small, so a banded check is enough).
fn within_distance(a: &str, b: &str, max: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        if current.iter().min().is_some_and(|m| *m > max) {
            return false;
        }
        previous = current;
    }
    previous[b.len()] <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["example.com", "paypal.com", "northwind-traders.example"];

    fn check(domain: &str) -> Option<(String, LookalikeReason)> {
        lookalike(domain, KNOWN).map(|l| (l.resembles, l.reason))
    }

    #[test]
    fn confusable_characters_are_flagged() {
        for spoof in [
            "paypa1.com",
            "paypai.com",
            "exarnple.com",
            "examp1e.com",
            "ex4mple.com",
        ] {
            assert!(check(spoof).is_some(), "{spoof}");
        }
        assert_eq!(
            check("paypa1.com"),
            Some(("paypal.com".into(), LookalikeReason::Confusable))
        );
        // Cyrillic "а" and "р" in an IDN: xn--pypal-4ve.com / "раураl.com".
        let cyrillic = idna::domain_to_ascii("раураl.com").unwrap();
        assert!(cyrillic.starts_with("xn--"));
        assert_eq!(
            check(&cyrillic),
            Some(("paypal.com".into(), LookalikeReason::Confusable))
        );
    }

    #[test]
    fn small_edit_distances_are_flagged() {
        assert_eq!(
            check("example.co"),
            Some(("example.com".into(), LookalikeReason::EditDistance))
        );
        assert_eq!(
            check("northwind-tradres.example"),
            Some(("northwind-traders.example".into(), LookalikeReason::EditDistance))
        );
        assert!(check("exampl.com").is_some());
    }

    #[test]
    fn the_known_domains_themselves_and_unrelated_ones_are_not() {
        for fine in [
            "example.com",
            "EXAMPLE.COM.",
            "mail.example.com",
            "paypal.com",
            "contoso.example",
            "gmail.com",
            "example.org.uk",
            "northwind.example",
        ] {
            assert_eq!(check(fine), None, "{fine}");
        }
        // Short known names get no edit-distance slack (too many neighbours).
        assert_eq!(lookalike("gmx.at", ["gmx.de"]), None);
    }

    #[test]
    fn distance_is_exact_for_small_bounds() {
        assert!(within_distance("kitten", "sitten", 1));
        assert!(!within_distance("kitten", "sitting", 2));
        assert!(within_distance("kitten", "sittin", 2));
        assert!(within_distance("", "ab", 2));
        assert!(!within_distance("", "abc", 2));
    }
}

//! Every version of the notice shown before a conversation, frozen once published:
//! consent is recorded against a version, so what each version said must stay readable
//! (a page per version, `/privacy/notices/{version}`). A change to the words is a new
//! entry at the end, never an edit of an old one.

use palisade_i18n::Locale;

/// One published version, in every language the desk speaks.
#[derive(Debug)]
pub struct NoticeVersion {
    /// The date it was published: what a consent names.
    pub version: &'static str,
    /// By language tag (`en`, `de`).
    pub texts: &'static [(&'static str, &'static str)],
}

impl NoticeVersion {
    /// The text in `locale`, or in English where that language was not written.
    pub fn text(&self, locale: Locale) -> &'static str {
        self.texts
            .iter()
            .find(|(tag, _)| *tag == locale.tag())
            .or_else(|| self.texts.iter().find(|(tag, _)| *tag == Locale::En.tag()))
            .map_or("", |(_, text)| text)
    }
}

/// Oldest first; the last is the one shown now ([`super::NOTICE_VERSION`]).
pub const NOTICE_VERSIONS: &[NoticeVersion] = &[NoticeVersion {
    version: "2026-11-22",
    texts: &[
        ("en", super::NOTICE),
        (
            "de",
            "Sie sprechen mit einem automatischen Assistenten, nicht mit einem Menschen. Er antwortet aus unserem \
             Hilfe-Center und kann Sie jederzeit an unser Support-Team übergeben. Der Support wird Sie nie nach \
             einem Passwort, einem Einmalcode oder einer vollständigen Kartennummer fragen, weder hier noch \
             anderswo; alles Derartige, das Sie eingeben, wird vor dem Speichern entfernt.",
        ),
    ],
}];

/// The version named, if it was ever published.
pub fn notice_version(version: &str) -> Option<&'static NoticeVersion> {
    NOTICE_VERSIONS.iter().find(|n| n.version == version)
}

/// The version shown now.
pub fn current_notice() -> &'static NoticeVersion {
    // The list is a constant with at least one entry (tested).
    &NOTICE_VERSIONS[NOTICE_VERSIONS.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_version_is_the_last_and_every_version_speaks_every_language() {
        assert_eq!(current_notice().version, super::super::NOTICE_VERSION);
        assert_eq!(current_notice().text(Locale::En), super::super::NOTICE);
        for (i, notice) in NOTICE_VERSIONS.iter().enumerate() {
            for locale in Locale::ALL {
                assert!(
                    notice
                        .texts
                        .iter()
                        .any(|(tag, text)| *tag == locale.tag() && !text.is_empty()),
                    "{} in {}",
                    notice.version,
                    locale.tag()
                );
            }
            // Dated, in order, each once.
            assert_eq!(notice.version.len(), 10);
            if i > 0 {
                assert!(NOTICE_VERSIONS[i - 1].version < notice.version);
            }
        }
        assert!(notice_version("2026-11-22").is_some());
        assert!(notice_version("1999-01-01").is_none());
    }
}

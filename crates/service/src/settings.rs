//! The desk's runtime settings: what an administrator may change from the web without a
//! restart. Each is validated here as strictly as the configuration file is (or more),
//! overrides the file's value while set, and returns to it when cleared. Keys,
//! listeners, relays and trusted proxies are not among them: they stay in the file.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use serde_json::json;

use crate::{Actor, Desk, ServiceError, validate_line};

/// The settings in force.
#[derive(Clone, Debug, PartialEq)]
pub struct DeskSettings {
    /// Shown as the help centre's and the portal's name.
    pub organisation_name: String,
    /// The help centre's locale when a visitor names none.
    pub default_locale: String,
    /// Linked from the notice before every assistant conversation.
    pub privacy_notice_url: String,
    /// When the assistant counts an article as an answer: its least search score …
    pub assistant_min_score: f32,
    /// … and the least share of the question's words it covers (0 to 1).
    pub assistant_min_coverage: f32,
    /// How many passages an answer quotes at most (1 to 10).
    pub assistant_max_passages: usize,
    /// Unanswered questions before the assistant offers a person (1 to 10).
    pub assistant_misses_before_handover: i64,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            organisation_name: "Support".into(),
            default_locale: "en".into(),
            privacy_notice_url: "/help/en/privacy-notice".into(),
            assistant_min_score: 1.0,
            assistant_min_coverage: 0.5,
            assistant_max_passages: 3,
            assistant_misses_before_handover: 2,
        }
    }
}

/// One setting by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    OrganisationName,
    DefaultLocale,
    PrivacyNoticeUrl,
    AssistantMinScore,
    AssistantMinCoverage,
    AssistantMaxPassages,
    AssistantMissesBeforeHandover,
}

impl Setting {
    pub const ALL: [Setting; 7] = [
        Self::OrganisationName,
        Self::DefaultLocale,
        Self::PrivacyNoticeUrl,
        Self::AssistantMinScore,
        Self::AssistantMinCoverage,
        Self::AssistantMaxPassages,
        Self::AssistantMissesBeforeHandover,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OrganisationName => "organisation_name",
            Self::DefaultLocale => "default_locale",
            Self::PrivacyNoticeUrl => "privacy_notice_url",
            Self::AssistantMinScore => "assistant_min_score",
            Self::AssistantMinCoverage => "assistant_min_coverage",
            Self::AssistantMaxPassages => "assistant_max_passages",
            Self::AssistantMissesBeforeHandover => "assistant_misses_before_handover",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What the setting is, for the settings page.
    pub fn description(self) -> &'static str {
        match self {
            Self::OrganisationName => "Your organisation's name, shown in the help centre and the portal",
            Self::DefaultLocale => "The help centre's language when a visitor names none (en, de, pt-BR…)",
            Self::PrivacyNoticeUrl => {
                "The privacy notice linked before every assistant conversation (a path here, or an https address)"
            }
            Self::AssistantMinScore => {
                "The least search score for the assistant to answer from an article (0 to 100)"
            }
            Self::AssistantMinCoverage => {
                "The least share of a question's words an article must cover (0 to 1)"
            }
            Self::AssistantMaxPassages => "How many passages an answer quotes at most (1 to 10)",
            Self::AssistantMissesBeforeHandover => {
                "Unanswered questions before the assistant offers a person (1 to 10)"
            }
        }
    }

    /// The value as stored, or why it is refused.
    pub fn validate(self, raw: &str) -> Result<String, ServiceError> {
        let value = raw.trim();
        let refusal = |why: &'static str| Refusal::new(why).with("name", self.name());
        let refuse = |why: &'static str| Err(ServiceError::Invalid(refusal(why)));
        let number = |min: f64, max: f64| match value.parse::<f64>() {
            Ok(n) if n.is_finite() && (min..=max).contains(&n) => Ok(value.to_owned()),
            _ => Err(ServiceError::Invalid(
                refusal("refusal-setting-number")
                    .with("min", min.to_string())
                    .with("max", max.to_string()),
            )),
        };
        // A whole number may come written as a number with a zero fraction (JSON's 2.0).
        let whole = |min: i64, max: i64| match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n.fract() == 0.0 && (min as f64..=max as f64).contains(&n) => {
                Ok((n as i64).to_string())
            }
            _ => Err(ServiceError::Invalid(
                refusal("refusal-setting-whole-number")
                    .with("min", min)
                    .with("max", max),
            )),
        };
        match self {
            Self::OrganisationName => validate_line("organisation_name", value, 100),
            Self::DefaultLocale if palisade_core::valid_locale(value) => Ok(value.to_owned()),
            Self::DefaultLocale => refuse("refusal-setting-locale"),
            Self::PrivacyNoticeUrl if valid_notice_url(value) => Ok(value.to_owned()),
            Self::PrivacyNoticeUrl => refuse("refusal-setting-privacy-url"),
            Self::AssistantMinScore => number(0.0, 100.0),
            Self::AssistantMinCoverage => number(0.0, 1.0),
            Self::AssistantMaxPassages => whole(1, 10),
            Self::AssistantMissesBeforeHandover => whole(1, 10),
        }
    }

    /// Whether the setting is a number (the API takes it as a JSON number).
    pub fn is_number(self) -> bool {
        matches!(
            self,
            Self::AssistantMinScore
                | Self::AssistantMinCoverage
                | Self::AssistantMaxPassages
                | Self::AssistantMissesBeforeHandover
        )
    }

    /// The setting's value in `settings`, as text.
    pub fn value_in(self, settings: &DeskSettings) -> String {
        match self {
            Self::OrganisationName => settings.organisation_name.clone(),
            Self::DefaultLocale => settings.default_locale.clone(),
            Self::PrivacyNoticeUrl => settings.privacy_notice_url.clone(),
            Self::AssistantMinScore => settings.assistant_min_score.to_string(),
            Self::AssistantMinCoverage => settings.assistant_min_coverage.to_string(),
            Self::AssistantMaxPassages => settings.assistant_max_passages.to_string(),
            Self::AssistantMissesBeforeHandover => settings.assistant_misses_before_handover.to_string(),
        }
    }

    /// Puts a validated stored value into `settings`; a value that no longer parses
    /// (stored by another version) leaves the file's.
    fn apply(self, settings: &mut DeskSettings, value: &str) {
        match self {
            Self::OrganisationName => settings.organisation_name = value.to_owned(),
            Self::DefaultLocale => settings.default_locale = value.to_owned(),
            Self::PrivacyNoticeUrl => settings.privacy_notice_url = value.to_owned(),
            Self::AssistantMinScore => {
                if let Ok(v) = value.parse() {
                    settings.assistant_min_score = v;
                }
            }
            Self::AssistantMinCoverage => {
                if let Ok(v) = value.parse() {
                    settings.assistant_min_coverage = v;
                }
            }
            Self::AssistantMaxPassages => {
                if let Ok(v) = value.parse() {
                    settings.assistant_max_passages = v;
                }
            }
            Self::AssistantMissesBeforeHandover => {
                if let Ok(v) = value.parse() {
                    settings.assistant_misses_before_handover = v;
                }
            }
        }
    }
}

/// A path on this site, or an https address; nothing that could run or leave quietly.
fn valid_notice_url(value: &str) -> bool {
    let printable = !value.is_empty() && value.len() <= 500 && value.bytes().all(|b| b.is_ascii_graphic());
    let local = value.starts_with('/') && !value.starts_with("//") && !value.contains('\\');
    let https = value.strip_prefix("https://").is_some_and(|rest| {
        rest.split('/')
            .next()
            .is_some_and(|host| !host.is_empty() && !host.contains('@'))
    });
    printable && (local || https)
}

/// One setting as the settings page shows it.
#[derive(Clone, Debug)]
pub struct SettingEntry {
    pub setting: Setting,
    pub value: String,
    /// Set from the web (otherwise the file's value or the default).
    pub overridden: bool,
}

impl Desk {
    /// The settings in force: `file` (the configuration file's, or the defaults) with
    /// whatever an administrator set from the web on top.
    pub async fn effective_settings(&self, file: &DeskSettings) -> Result<DeskSettings, ServiceError> {
        let mut settings = file.clone();
        for (name, value) in self.store.desk_settings().await? {
            if let Some(setting) = Setting::parse(&name) {
                setting.apply(&mut settings, &value);
            }
        }
        Ok(settings)
    }

    /// Every setting with its value in force, for the administrators who change them.
    pub async fn settings_page(
        &self,
        actor: &Actor,
        file: &DeskSettings,
    ) -> Result<Vec<SettingEntry>, ServiceError> {
        self.authorize(actor, Action::ManageSettings, &Resource::Directory)
            .await?;
        let stored = self.store.desk_settings().await?;
        let settings = self.effective_settings(file).await?;
        Ok(Setting::ALL
            .into_iter()
            .map(|setting| SettingEntry {
                setting,
                value: setting.value_in(&settings),
                overridden: stored.iter().any(|(name, _)| name == setting.name()),
            })
            .collect())
    }

    /// Sets (or with `None` returns to the file's value) each named setting, all or
    /// none: every value is validated first. Audited with the names and new values
    /// (none of them is secret).
    pub async fn change_settings(
        &self,
        actor: &Actor,
        changes: &[(String, Option<String>)],
    ) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageSettings, &Resource::Directory)
            .await?;
        let mut valid = Vec::new();
        for (name, value) in changes {
            let Some(setting) = Setting::parse(name) else {
                return Err(ServiceError::Invalid(
                    Refusal::new("refusal-no-setting").with("name", name),
                ));
            };
            let value = value.as_deref().map(|v| setting.validate(v)).transpose()?;
            valid.push((setting, value));
        }
        if valid.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for (setting, value) in &valid {
            self.store
                .put_desk_setting(
                    &mut tx,
                    setting.name(),
                    value.as_deref(),
                    &actor.principal.user_id,
                )
                .await?;
        }
        let detail: serde_json::Map<String, serde_json::Value> = valid
            .iter()
            .map(|(setting, value)| (setting.name().to_owned(), json!(value)))
            .collect();
        let event = AuditEvent::new(AuditAction::SettingsChanged, "settings", Outcome::Success)
            .with_detail(json!({ "changed": detail, "channel": actor.channel.as_str() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_takes_only_what_the_file_would() {
        let ok = [
            (Setting::OrganisationName, "Acme Support"),
            (Setting::DefaultLocale, "pt-BR"),
            (Setting::PrivacyNoticeUrl, "/help/en/privacy"),
            (Setting::PrivacyNoticeUrl, "https://acme.example/privacy"),
            (Setting::AssistantMinScore, "2.5"),
            (Setting::AssistantMinCoverage, "0.6"),
            (Setting::AssistantMaxPassages, "4"),
            (Setting::AssistantMissesBeforeHandover, "3"),
        ];
        for (setting, value) in ok {
            assert_eq!(setting.validate(value).unwrap(), value, "{setting:?}");
        }
        let bad = [
            (Setting::OrganisationName, ""),
            (Setting::OrganisationName, "two\nlines"),
            (Setting::DefaultLocale, "../x"),
            (Setting::DefaultLocale, "EN"),
            (Setting::PrivacyNoticeUrl, "javascript:alert(1)"),
            (Setting::PrivacyNoticeUrl, "//evil.example/x"),
            (Setting::PrivacyNoticeUrl, "http://acme.example/privacy"),
            (Setting::PrivacyNoticeUrl, "https://user@evil.example/"),
            (Setting::AssistantMinScore, "NaN"),
            (Setting::AssistantMinScore, "-1"),
            (Setting::AssistantMinCoverage, "1.5"),
            (Setting::AssistantMaxPassages, "0"),
            (Setting::AssistantMaxPassages, "2.5"),
            (Setting::AssistantMissesBeforeHandover, "11"),
        ];
        for (setting, value) in bad {
            assert!(setting.validate(value).is_err(), "{setting:?} {value:?}");
        }
    }

    #[test]
    fn stored_values_override_and_unparsable_ones_leave_the_files() {
        let mut s = DeskSettings::default();
        Setting::AssistantMaxPassages.apply(&mut s, "5");
        Setting::AssistantMinCoverage.apply(&mut s, "not a number");
        assert_eq!(s.assistant_max_passages, 5);
        assert!((s.assistant_min_coverage - 0.5).abs() < f32::EPSILON);
    }
}

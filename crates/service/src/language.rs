//! The language each person reads the pages in: their own choice, or (none chosen)
//! their browser's. Only languages the catalogue speaks are kept.

use palisade_i18n::Locale;
use palisade_i18n::Refusal;

use crate::{Actor, Desk, ServiceError};

impl Desk {
    /// Sets the actor's own language (a tag such as `de`); `None` leaves it to their
    /// browser. Anyone signed in may choose theirs; nobody chooses for someone else.
    pub async fn set_own_language(
        &self,
        actor: &Actor,
        tag: Option<&str>,
    ) -> Result<Option<Locale>, ServiceError> {
        let locale =
            match tag {
                Some(tag) => Some(Locale::parse(tag).filter(|l| l.tag() == tag).ok_or_else(|| {
                    ServiceError::Invalid(Refusal::new("refusal-language").with("value", tag))
                })?),
                None => None,
            };
        self.store
            .set_user_locale(&actor.principal.user_id, locale.map(Locale::tag))
            .await?;
        Ok(locale)
    }
}

//! Assistant conversations: starting one, and admitting a request to one. A
//! conversation is reached with its secret; when verified it acts as its owner, when
//! anonymous as a visitor whoever is signed in. Who the acting owner is (a portal
//! session, or the site's token for a while) is the adapter's authentication; whether
//! that reader may use the conversation is decided here, and a signed-in caller's
//! refusal is audited.

use palisade_core::{ConversationId, UserId};
use palisade_crypto::{RandomToken, TokenHash};
use palisade_policy::{Action, Reader, Resource};
use palisade_store::{ConversationRecord, NewConversation, Verification};

use crate::reading::reader_of;
use crate::{Actor, Desk, ServiceError};

/// What a customer chose when a conversation starts.
#[derive(Clone, Debug)]
pub struct StartConversation {
    /// Agreed to the assistant after reading the notice.
    pub consent: bool,
    /// Asked for people only.
    pub human_only: bool,
    /// The notice they saw.
    pub notice_version: String,
    /// How the owner (the actor, when there is one) was established.
    pub verification: Verification,
    /// Only the hash is kept; the secret is the adapter's to hand out.
    pub secret_hash: TokenHash,
    pub client_ip: String,
}

/// A started conversation.
#[derive(Clone, Debug)]
pub struct StartedConversation {
    pub id: ConversationId,
    /// Whether only people answer, by this choice or a standing one.
    pub human_only: bool,
}

fn conversation_resource(id: &ConversationId, owner: Option<&UserId>) -> Resource {
    Resource::Conversation(id.clone(), owner.cloned())
}

impl Desk {
    /// Starts a conversation for `owner` (the actor, verified as `start.verification`
    /// says) or for nobody. A standing human-only choice holds until the customer
    /// agrees to the assistant again.
    pub async fn start_conversation(
        &self,
        owner: Option<&Actor>,
        start: StartConversation,
    ) -> Result<StartedConversation, ServiceError> {
        let user = owner.map(|o| o.principal.user_id.clone());
        if (user.is_some()) == (start.verification == Verification::Anonymous) {
            return Err(ServiceError::invalid("refusal-conversation-owner"));
        }
        let standing = match &user {
            Some(user) => self.store.assistant_preference(user).await?.is_some_and(|p| p.0),
            None => false,
        };
        let human_only = start.human_only || (standing && !start.consent);
        if !start.consent && !human_only {
            return Err(ServiceError::invalid("refusal-conversation-consent"));
        }
        let id = ConversationId::generate();
        let resource = conversation_resource(&id, user.as_ref());
        if self
            .policy
            .authorize_reader(reader_of(owner), Action::AssistantUse, &resource)
            .is_err()
        {
            if let Some(owner) = owner {
                self.audit_denial(&owner.audit, Action::AssistantUse, id.as_str(), "denied")
                    .await?;
            }
            return Err(ServiceError::Forbidden);
        }
        self.store
            .create_conversation(
                &id,
                &NewConversation {
                    user: user.clone(),
                    verification: start.verification,
                    notice_version: start.notice_version.clone(),
                    human_only,
                    secret_hash: start.secret_hash,
                    client_ip: start.client_ip,
                },
            )
            .await?;
        // A choice made now is recorded (and becomes the standing one); a start that
        // only followed the standing choice records nothing new.
        if let Some(user) = &user
            && (start.consent || start.human_only)
        {
            self.store
                .set_assistant_preference(user, human_only, &start.notice_version)
                .await?;
        }
        Ok(StartedConversation { id, human_only })
    }

    /// The conversation whose secret was presented; `NotFound` alike for a malformed
    /// id, no such conversation and a wrong secret (compared in constant time).
    pub async fn conversation_by_secret(
        &self,
        raw_id: &str,
        presented: Option<&str>,
    ) -> Result<ConversationRecord, ServiceError> {
        let (Ok(id), Some(presented)) = (
            ConversationId::parse(raw_id),
            presented.and_then(RandomToken::from_presented),
        ) else {
            return Err(ServiceError::NotFound);
        };
        match self.store.conversation(&id).await? {
            Some(c) if c.secret_hash.ct_eq(&presented.hash()) => Ok(c),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// Whether a request may use `conversation`: as `acting` (its verified owner, as
    /// the adapter authenticated them) or, without one, as a visitor — except that a
    /// portal conversation is checked as whoever is signed in (and so refused to
    /// anyone but its owner). Refusals are `NotFound`, audited against the caller.
    pub async fn admit_to_conversation(
        &self,
        conversation: &ConversationRecord,
        acting: Option<&Actor>,
        caller: Option<&Actor>,
    ) -> Result<(), ServiceError> {
        let reader: Reader<'_> = match (acting, conversation.verification) {
            (Some(owner), _) => Reader::User(&owner.principal),
            (None, Verification::PortalSession) => reader_of(caller),
            (None, _) => Reader::Visitor,
        };
        let resource = conversation_resource(&conversation.id, conversation.user.as_ref());
        if self
            .policy
            .authorize_reader(reader, Action::AssistantUse, &resource)
            .is_ok()
        {
            return Ok(());
        }
        if let Some(caller) = caller {
            self.audit_denial(
                &caller.audit,
                Action::AssistantUse,
                conversation.id.as_str(),
                "denied",
            )
            .await?;
        }
        Err(ServiceError::NotFound)
    }
}

//! Asking the optional language model for a draft answer, within the conversation's
//! and the organisation's token budgets, and keeping the draft only if it passes every
//! check in `palisade_assist::assistant::vet`. Whatever goes wrong — no model, budget
//! spent, the endpoint failing, a discarded draft — the customer gets the grounded
//! answer instead; the model is never needed for a correct answer.

use std::sync::Arc;

use palisade_assist::assistant::{
    ModelProvider, ModelSettings, Passage, VetContext, Vetted, build_prompt, vet,
};
use palisade_core::UnixMillis;
use palisade_store::ConversationRecord;

use crate::{AppError, AppState, RequestMeta};

const DAY_MS: i64 = 86_400_000;
const ORGANISATION_BUDGET_KEY: &str = "model_tokens:organisation";

/// A configured model and its settings. Off unless configured.
#[derive(Clone)]
pub struct AssistantModel {
    pub provider: Arc<dyn ModelProvider>,
    pub settings: ModelSettings,
}

impl std::fmt::Debug for AssistantModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssistantModel")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn fresh_canary() -> Result<String, AppError> {
    let bytes = palisade_crypto::random_bytes::<12>().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("PALISADE-CANARY-{}", hex::encode(bytes)))
}

/// `host[:port]` of the public origin, as links to this site must carry it.
pub(crate) fn authority_of(origin: &str) -> String {
    origin
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default()
}

/// The vetted draft for `question`, or `None` for the grounded answer.
pub(crate) async fn draft_answer(
    s: &AppState,
    meta: &RequestMeta,
    conversation: &ConversationRecord,
    question: &str,
    passages: &[Passage],
) -> Result<Option<Vetted>, AppError> {
    let Some(model) = &s.config.model else {
        return Ok(None);
    };
    if passages.is_empty() || conversation.human_only {
        return Ok(None);
    }
    let settings = &model.settings;
    let canary = fresh_canary()?;
    let request = build_prompt(question, passages, &canary, settings.max_answer_tokens);
    let estimate = request.estimated_tokens();
    if !s
        .store
        .reserve_conversation_tokens(&conversation.id, estimate, settings.conversation_budget)
        .await?
    {
        tracing::info!(conversation = %conversation.id, "the conversation's model budget is spent");
        return Ok(None);
    }
    // Corrections go to the day the tokens were reserved in, even after midnight.
    let day_start = palisade_store::Store::rate_window_start(DAY_MS);
    let spent = s
        .store
        .add_to_window_starting(ORGANISATION_BUDGET_KEY, day_start, estimate)
        .await?;
    if spent > settings.daily_budget {
        s.store
            .add_to_window_starting(ORGANISATION_BUDGET_KEY, day_start, -estimate)
            .await?;
        s.store
            .adjust_conversation_tokens(&conversation.id, -estimate)
            .await?;
        let day = UnixMillis::now().0 / DAY_MS;
        s.raise_alert(
            "model_budget",
            "organisation",
            &format!(
                "the daily model budget of {} tokens is spent",
                settings.daily_budget
            ),
            &format!("model_budget:{day}"),
            meta,
        )
        .await?;
        return Ok(None);
    }
    let reply = match model.provider.complete(request).await {
        Ok(reply) => reply,
        Err(e) => {
            tracing::warn!(error = %e, "the model failed; answering from the articles");
            s.store
                .add_to_window_starting(ORGANISATION_BUDGET_KEY, day_start, -estimate)
                .await?;
            s.store
                .adjust_conversation_tokens(&conversation.id, -estimate)
                .await?;
            return Ok(None);
        }
    };
    // The provider's own count when it gives one, but never less than the prompt that
    // was certainly sent: an endpoint reporting zero does not lift the budgets.
    let floor = estimate - i64::from(settings.max_answer_tokens);
    let used = reply.tokens_used.map_or(estimate, |t| t.max(floor));
    if used != estimate {
        s.store
            .add_to_window_starting(ORGANISATION_BUDGET_KEY, day_start, used - estimate)
            .await?;
        s.store
            .adjust_conversation_tokens(&conversation.id, used - estimate)
            .await?;
    }
    let own_authority = authority_of(&s.config.public_origin);
    let checked = vet(
        &reply.text,
        &VetContext {
            passages,
            canary: &canary,
            allowed_link_domains: &settings.allowed_link_domains,
            own_authority: &own_authority,
        },
    );
    match checked {
        Ok(mut vetted) => {
            // The model may echo something sensitive from a passage or invent one.
            vetted.text = s.config.redactor.redact(&vetted.text).text;
            Ok(Some(vetted))
        }
        Err(discard) => {
            tracing::warn!(conversation = %conversation.id, reason = discard.as_str(), "model draft discarded");
            if discard.is_attack_sign() {
                // A steered model means steering input: it counts like a manipulation attempt.
                s.count_against(
                    &s.config.public_limits.manipulation_per_conversation,
                    conversation.id.as_str(),
                    meta,
                )
                .await?;
            }
            Ok(None)
        }
    }
}

//! One turn of a conversation: reading what the customer wrote, routing secure-channel
//! topics to the right place, grounding answers in articles (or a checked draft of the
//! model), and offering a person.

use super::*;

fn secure_channel_reply(s: &AppState, topic: SensitiveTopic, verified: Option<&Caller>) -> (String, bool) {
    let what = crate::locale::text(&format!("assistant-topic-{}", topic.as_str()));
    let say = |id: &str| crate::locale::text_with(id, &[("name", what.as_str().into())]);
    let recovery = matches!(topic, SensitiveTopic::Password | SensitiveTopic::AccountRecovery);
    match (verified, recovery) {
        (Some(caller), true) => {
            // A single-use, short-lived link to the address on file — never to an
            // address typed in the chat.
            s.identity
                .request_password_reset(caller.user.email.as_str(), &caller.audit());
            (say("assistant-secure-link-sent"), false)
        }
        (None, true) => (say("assistant-secure-use-reset"), true),
        (_, false) => (say("assistant-secure-person"), true),
    }
}

/// Answers one message.
pub(crate) async fn converse(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    conversation: &Opened,
    text: &str,
) -> Result<Turn, AppError> {
    let limits = &s.config.public_limits;
    s.enforce(&limits.assistant_messages_per_ip, &subject(caller, meta), meta)
        .await?;
    s.enforce(&limits.messages_per_conversation, conversation.id.as_str(), meta)
        .await?;
    if conversation.state != ConversationState::Open {
        return Err(AppError::conflict("refusal-conversation-handed-over"));
    }
    if conversation.messages >= MAX_MESSAGES {
        return Err(AppError::conflict("refusal-conversation-long"));
    }
    let text = crate::service::validate_text("text", text, MAX_MESSAGE_CHARS)?;
    // Read beside the customer's previous message: a card number split over two
    // messages, or its security code sent after it, is found across the two, and the
    // part already stored is removed from it too.
    let previous = s.store.last_customer_message(&conversation.id).await?;
    let following = match &previous {
        Some(p) => s.config.redactor.redact_following(&p.body, &text),
        None => palisade_assist::Following {
            current: s.config.redactor.redact(&text),
            previous: None,
        },
    };
    let rewritten = match (&previous, &following.previous) {
        (Some(p), Some(text)) => Some((p.seq, text.as_str())),
        _ => None,
    };
    let redacted = following.current;
    let clean = redacted.text;
    let removed: Vec<String> = redacted
        .found
        .iter()
        .map(|(kind, _)| RedactionKind::as_str(*kind).to_owned())
        .collect();
    let reader = acting_reader(conversation);
    let verified = conversation.acting.as_ref();
    let reading = assistant::read(&clean);
    // A conversation with a person only has no automated answers to steer, so nothing
    // there counts as manipulation.
    let mut human_only = conversation.human_only;
    if reading.manipulation
        && !human_only
        && s.count_against(
            &limits.manipulation_per_conversation,
            conversation.id.as_str(),
            meta,
        )
        .await?
    {
        // Repeated attempts to instruct the assistant turn its answers off for this
        // conversation; the way to a person stays open.
        s.desk()
            .stop_automated_answers(&meta.anonymous_audit(), &conversation.id)
            .await?;
        human_only = true;
    }
    let mut turn = Turn {
        reply: String::new(),
        citations: vec![],
        tickets: vec![],
        offer_handover: false,
        secure_channel: None,
        redacted: removed,
        drafted_by_model: false,
    };
    let mut answered = None;
    let settings = s.settings().await?;
    let thresholds = crate::service::thresholds_of(&settings);
    if human_only {
        turn.reply = crate::locale::text(if conversation.human_only {
            "assistant-people-only-reply"
        } else {
            "assistant-no-longer-automated"
        });
        turn.offer_handover = true;
    } else {
        match reading.intent {
            Intent::SecureChannel(topic) => {
                let (reply, offer) = secure_channel_reply(s, topic, verified);
                turn.reply = reply;
                turn.offer_handover = offer;
                turn.secure_channel = Some(topic.as_str().into());
            }
            Intent::Human => {
                turn.reply = crate::locale::text("assistant-of-course");
                turn.offer_handover = true;
            }
            Intent::MyTickets => match verified {
                Some(caller) => {
                    // The customer's own rights, through the same paths as the portal.
                    let page = s.list_tickets(caller, None, None, 10).await?;
                    turn.tickets = page
                        .items
                        .iter()
                        .map(|t| TicketLine {
                            id: t.id.to_string(),
                            number: t.number,
                            subject: t.subject.clone(),
                            status: t.status.as_str().into(),
                            url: format!("/tickets/{}", t.id),
                        })
                        .collect();
                    turn.reply = if turn.tickets.is_empty() {
                        crate::locale::text("assistant-no-tickets")
                    } else {
                        let count = i64::try_from(turn.tickets.len()).unwrap_or(i64::MAX);
                        crate::locale::text_with("assistant-latest-tickets", &[("count", count.into())])
                    };
                }
                None => {
                    turn.reply = crate::locale::text("assistant-sign-in-for-tickets");
                }
            },
            Intent::Question => {
                let desk = s.desk();
                let locale = settings.default_locale.clone();
                let results = s
                    .help
                    .search(&locale, &desk.article_audience(reader), &clean, 10)
                    .await?;
                // Every hit authorised again, as for a search page.
                let hits = desk.readable_articles(reader, results.hits, |h| h.facts());
                // A passage is quoted only if it passes the checks a model's draft must
                // pass (no image, no link or address off the help centre and allowed
                // hosts, no request for secrets): a poisoned article quotes as nothing.
                let own_authority = crate::assistant_model::authority_of(&s.config.public_origin);
                let allowed: &[String] = s
                    .config
                    .model
                    .as_ref()
                    .map_or(&[], |m| m.settings.allowed_link_domains.as_slice());
                let passages: Vec<_> = assistant::ground(&hits, &thresholds)
                    .into_iter()
                    .filter(|p| assistant::quotable(&p.text, allowed, &own_authority))
                    .collect();
                answered = Some(!passages.is_empty());
                if passages.is_empty() {
                    turn.reply = crate::locale::text("assistant-no-article");
                    turn.offer_handover = true;
                } else if let Some(draft) =
                    crate::assistant_model::draft_answer(s, meta, conversation, &clean, &passages).await?
                {
                    turn.reply = draft.text;
                    turn.citations = passages
                        .iter()
                        .filter(|p| draft.cited.contains(&p.article))
                        .map(citation)
                        .collect();
                    turn.drafted_by_model = true;
                } else {
                    turn.reply = crate::locale::text("assistant-help-says");
                    turn.citations = passages.iter().map(citation).collect();
                }
            }
        }
        let misses = conversation.misses + i64::from(answered == Some(false));
        if reading.frustrated || misses >= thresholds.misses_before_handover {
            turn.offer_handover = true;
        }
    }
    let cited: Vec<_> = turn
        .citations
        .iter()
        .filter_map(|c| palisade_core::ArticleId::parse(&c.article_id).ok())
        .collect();
    // The customer's message and the answer are kept together, in one commit: a turn
    // that failed on the way leaves no half of itself, and the customer may send it again.
    s.store
        .record_exchange(
            &conversation.id,
            &palisade_store::Exchange {
                customer: &clean,
                rewritten,
                answer: &transcript_text(&turn),
                cited: &cited,
                answered,
            },
        )
        .await?;
    Ok(turn)
}

fn citation(p: &Passage) -> Citation {
    Citation {
        article_id: p.article.to_string(),
        title: p.title.clone(),
        url: p.url.clone(),
        passage: p.text.clone(),
    }
}

/// The assistant's turn as it is kept in the transcript.
fn transcript_text(turn: &Turn) -> String {
    let mut text = turn.reply.clone();
    for c in &turn.citations {
        text.push_str(&format!("\n[{}] {} — {}", c.title, c.passage, c.url));
    }
    for t in &turn.tickets {
        text.push_str(&format!("\n#{} {} ({})", t.number, t.subject, t.status));
    }
    text
}

//! An assistant turn is written whole: the customer's message and the answer in one
//! commit, in order, sealed to their rows, with the miss streak kept; a turn for a
//! conversation that does not exist writes nothing.

use std::sync::Arc;

use palisade_core::{ArticleId, ConversationId};
use palisade_crypto::{Keyring, MasterKey, TokenHash};
use palisade_store::{Exchange, NewConversation, Store, Verification};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(a_turn_is_written_whole_and_in_order);

async fn a_turn_is_written_whole_and_in_order(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let keys = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let store = Store::connect(&db.url, keys).await.unwrap();
    let id = ConversationId::generate();
    store
        .create_conversation(
            &id,
            &NewConversation {
                user: None,
                verification: Verification::Anonymous,
                notice_version: "1".into(),
                human_only: false,
                secret_hash: TokenHash("7".repeat(64)),
                client_ip: "192.0.2.1".into(),
            },
        )
        .await
        .unwrap();
    assert!(store.last_customer_message(&id).await.unwrap().is_none());

    let article = ArticleId::generate();
    let missed = Exchange {
        customer: "my card 4111 1111",
        rewritten: None,
        answer: "No article says.",
        cited: &[],
        answered: Some(false),
    };
    assert_eq!(store.record_exchange(&id, &missed).await.unwrap(), 2);
    assert_eq!(store.conversation(&id).await.unwrap().unwrap().misses, 1);

    let previous = store.last_customer_message(&id).await.unwrap().unwrap();
    assert_eq!((previous.seq, previous.body.as_str()), (1, "my card 4111 1111"));
    let answered = Exchange {
        customer: "[card number removed] refund?",
        rewritten: Some((previous.seq, "my card [card number removed]")),
        answer: "Refunds take five days.",
        cited: std::slice::from_ref(&article),
        answered: Some(true),
    };
    assert_eq!(store.record_exchange(&id, &answered).await.unwrap(), 4);

    let record = store.conversation(&id).await.unwrap().unwrap();
    assert_eq!(
        (record.messages, record.misses),
        (4, 0),
        "an answer resets the streak"
    );
    let transcript = store.conversation_transcript(&id).await.unwrap();
    let lines: Vec<_> = transcript
        .iter()
        .map(|m| (m.seq, m.author.as_str(), m.body.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (1, "customer", "my card [card number removed]"),
            (2, "assistant", "No article says."),
            (3, "customer", "[card number removed] refund?"),
            (4, "assistant", "Refunds take five days."),
        ],
        "the earlier part is rewritten and the turn kept in order"
    );
    assert_eq!(transcript[3].cited, [article]);
    assert!(transcript[2].cited.is_empty());
    assert_eq!(store.last_customer_message(&id).await.unwrap().unwrap().seq, 3);

    // Attack: a turn aimed at another conversation's id (or one never opened) writes
    // nothing, not even the rewrite of a message it names.
    let stranger = ConversationId::generate();
    let aimed = Exchange {
        customer: "hello",
        rewritten: Some((1, "overwritten")),
        answer: "hi",
        cited: &[],
        answered: None,
    };
    assert!(store.record_exchange(&stranger, &aimed).await.is_err());
    assert_eq!(
        store.conversation_transcript(&id).await.unwrap()[0].body,
        "my card [card number removed]"
    );
}

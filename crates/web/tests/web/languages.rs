//! The pages in the reader's language, on SQLite and PostgreSQL: a browser asking for
//! German gets German pages (words, dates, relative times, `lang`), a person's own
//! choice outranks what their browser asks, and clearing it hands the choice back to
//! the browser; mail is written in its recipient's language, else the desk's default.
//! Beside it the refusals: a language Palisade does not speak, and a choice that reaches
//! anyone but the one making it. The server's own refusals (why a request was turned
//! down) are in the reader's language as well, in the API's problems and on the pages.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    pages_speak_the_readers_language,
    mail_speaks_the_recipients_language,
    agents_hear_in_their_own_language,
    the_assistant_answers_in_the_customers_language,
    refusals_speak_the_readers_language
);

async fn pages_speak_the_readers_language(backend: Backend) {
    let w = World::new(backend).await;
    let page = |who: &common::Actor, path: &str, accept: &str| {
        let (who, path, accept) = (who.clone(), path.to_owned(), accept.to_owned());
        let w = &w;
        async move {
            let r = w
                .raw(
                    Some(&who),
                    "GET",
                    &path,
                    Body::empty(),
                    &[("accept-language", &accept)],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            (
                r.headers
                    .get("content-language")
                    .map(|v| v.to_str().unwrap().to_owned()),
                r.text(),
            )
        }
    };
    // The browser asks for German: the portal answers in German.
    let (language, portal) = page(&w.customer_1, "/tickets", "de-DE,de;q=0.9,en;q=0.5").await;
    assert_eq!(language.as_deref(), Some("de"));
    assert!(portal.contains("<html lang=\"de\">"), "{portal}");
    assert!(
        portal.contains("Meine Tickets") && portal.contains("Ein neues Ticket eröffnen"),
        "{portal}"
    );
    assert!(
        portal.contains("gerade eben") && !portal.contains("just now"),
        "{portal}"
    );
    assert!(!portal.contains("Open a new ticket"));
    // A language Palisade does not speak, or none: English.
    let (language, portal) = page(&w.customer_1, "/tickets", "fr-FR,it;q=0.8").await;
    assert_eq!(language.as_deref(), Some("en"));
    assert!(
        portal.contains("Open a new ticket") && portal.contains("just now"),
        "{portal}"
    );
    // The ticket page: statuses, headings and the message's date in German.
    let (_, ticket) = page(&w.agent_a, &format!("/tickets/{}", w.ticket_1), "de").await;
    assert!(ticket.contains("Status, Zuständigkeit und Priorität"), "{ticket}");
    assert!(ticket.contains(">offen<") || ticket.contains(">neu<"), "{ticket}");
    let year = time::OffsetDateTime::now_utc().year().to_string();
    assert!(
        ticket.contains(&format!(" {year}, ")) && ticket.contains("UTC</time>"),
        "{ticket}"
    );

    // Every other page too: the admin area, the directory, macros, the assistant,
    // the account pages, with the notices the code writes.
    for (who, path, words) in [
        (&w.admin, "/admin/teams", &["Support-Adressen", "Mitglieder"][..]),
        (
            &w.admin,
            "/admin/staff",
            &["Jemanden einladen", "Lese-Agent/in (nur interne Notizen)"][..],
        ),
        (
            &w.admin,
            "/admin/fields?done=created",
            &["Feld hinzugefügt.", "Ticketfelder"][..],
        ),
        (&w.agent_a, "/customers", &["Einen Kunden finden"][..]),
        (
            &w.agent_a,
            "/macros",
            &["eine Antwort an den Kunden", "Makro speichern"][..],
        ),
        (
            &w.agent_a,
            "/notifications",
            &["Benachrichtigungen", "Wählen Sie"][..],
        ),
        (
            &w.customer_1,
            "/assistant",
            &["Support-Assistent", "Datenschutzhinweis"][..],
        ),
        (
            &w.customer_1,
            "/devices",
            &["Wo Sie angemeldet sind", "dieses Gerät"][..],
        ),
        (&w.customer_1, "/help", &["Hilfe-Center"][..]),
    ] {
        let (_, text) = page(who, path, "de").await;
        for word in words {
            assert!(text.contains(word), "{path} lacks {word:?}: {text}");
        }
    }

    // The embeddable assistant's notice and words, for a visitor's German browser.
    let r = w
        .raw(
            None,
            "GET",
            "/api/v1/assistant/notice",
            Body::empty(),
            &[("accept-language", "de-CH")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let notice = r.json();
    assert_eq!(notice["words"]["send"], "Senden");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .starts_with("Sie sprechen mit einem automatischen Assistenten")
    );
    let english = w
        .raw(None, "GET", "/api/v1/assistant/notice", Body::empty(), &[])
        .await
        .json();
    assert_eq!(english["words"]["send"], "Send");
    assert_eq!(english["version"], notice["version"]);

    // The agent chooses German for themselves: it outranks their English browser.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["language"], "de");
    let (language, list) = page(&w.agent_a, "/tickets", "en-GB,en").await;
    assert_eq!(language.as_deref(), Some("de"));
    assert!(
        list.contains("Meine offenen Tickets") && list.contains("Gespeicherte Ansichten"),
        "{list}"
    );
    // Nobody else's pages change.
    let (_, other) = page(&w.agent_b, "/tickets", "en-GB,en").await;
    assert!(other.contains("My open tickets"), "{other}");
    // The page form: back to what the browser asks.
    let chooser = w.get(&w.agent_a, "/account/language").await.text();
    assert!(chooser.contains("value=\"de\" checked"), "{chooser}");
    let r = w.form(&w.agent_a, "/account/language", "language=").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (language, _) = page(&w.agent_a, "/tickets", "en-GB,en").await;
    assert_eq!(language.as_deref(), Some("en"));

    // Refused: a language Palisade does not speak, a region it does not name, a
    // choice for someone else (there is no such field; the body is refused whole).
    for body in [
        json!({"language": "fr"}),
        json!({"language": "de-AT"}),
        json!({"language": "de", "user_id": w.agent_b.id.to_string()}),
    ] {
        let r = w
            .json(&w.agent_a, "PUT", "/api/v1/me/language", body.clone())
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
    }
    let r = w
        .form(&w.customer_1, "/account/language", "language=klingon")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let unchanged = w.store.get_user(&w.customer_1.id).await.unwrap();
    assert_eq!(unchanged.locale, None);
}

async fn mail_speaks_the_recipients_language(backend: Backend) {
    use crate::common::outbox::{link_path, mails};
    let w = World::new(backend).await;
    let reset = |email: &str| {
        let body = json!({ "email": email }).to_string();
        let w = &w;
        async move {
            let r = w
                .raw(
                    None,
                    "POST",
                    "/api/v1/password-resets",
                    Body::from(body),
                    &[("content-type", "application/json")],
                )
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED);
        }
    };
    // Customer 1 chose German; customer 2 chose nothing and the desk speaks English.
    let r = w
        .json(
            &w.customer_1,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    reset("c1@sharing.test").await;
    reset("c2@sharing.test").await;
    let sent = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 2).await;
    let to = |address: &str| sent.iter().find(|(_, m)| m.to == address).unwrap().1.clone();
    let german = to("c1@sharing.test");
    assert_eq!(german.subject, "Passwort zurücksetzen");
    assert!(
        german.text.contains("innerhalb von 15 Minuten"),
        "{}",
        german.text
    );
    let english = to("c2@sharing.test");
    assert_eq!(english.subject, "Reset your password");
    // The link still works whatever the language.
    let path = link_path(&german);
    assert!(path.starts_with("/setup/"), "{path}");

    // The desk's default language turns to German: those who chose nothing get German
    // mail, those who chose English keep it.
    let r = w
        .json(
            &w.admin,
            "PUT",
            "/api/v1/settings",
            json!({"values": {"default_locale": "de"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(
            &w.customer_3,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "en"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    reset("c2@sharing.test").await;
    reset("c3@private.test").await;
    // (The count is of every reset mail queued so far: these are the third and fourth.)
    let sent = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 4).await;
    let subject = |address: &str| {
        sent.iter()
            .find(|(_, m)| m.to == address)
            .unwrap_or_else(|| {
                panic!(
                    "no mail to {address}: {:?}",
                    sent.iter().map(|(_, m)| &m.to).collect::<Vec<_>>()
                )
            })
            .1
            .subject
            .clone()
    };
    assert_eq!(subject("c2@sharing.test"), "Passwort zurücksetzen");
    assert_eq!(subject("c3@private.test"), "Reset your password");

    // A security notice, in German for the customer who chose it.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/me/password",
            json!({"new_password": "eine ganz neue Passphrase"}),
        )
        .await;
    assert!(r.status.is_success(), "{}: {}", r.status, r.text());
    let notices = mails(&w, palisade_identity::MAIL_NOTICE, 1).await;
    let notice = notices.iter().find(|(_, m)| m.to == "c1@sharing.test").unwrap();
    assert_eq!(notice.1.subject, "Ihr Passwort wurde geändert");
    assert!(
        notice.1.text.contains("absichtlich keine Links"),
        "{}",
        notice.1.text
    );
}

async fn agents_hear_in_their_own_language(backend: Backend) {
    let w = World::new(backend).await.with_agent_notifications().await;
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            json!({ "assignee_id": w.agent_a.id.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    let mut mail = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == palisade_service::MAIL_NOTIFICATION {
            mail.push(serde_json::from_slice::<palisade_core::OutgoingMail>(&claimed.envelope).unwrap());
        }
    }
    let to_a: Vec<_> = mail.iter().filter(|m| m.to == "agent.a@desk.test").collect();
    assert_eq!(to_a.len(), 1, "{mail:?}");
    assert!(
        to_a[0].subject.contains("Ihnen zugewiesen"),
        "{}",
        to_a[0].subject
    );
    assert!(
        to_a[0].text.contains("Wählen Sie, worüber und wie"),
        "{}",
        to_a[0].text
    );
}

async fn the_assistant_answers_in_the_customers_language(backend: Backend) {
    use crate::common::chat::{ask, chat};
    let w = World::new(backend).await;
    let r = w
        .json(
            &w.customer_1,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let c = chat(&w, Some(&w.customer_1)).await;
    let turn = ask(&w, Some(&w.customer_1), &c, "I forgot my password").await;
    let reply = turn["reply"].as_str().unwrap();
    assert!(
        reply.starts_with("Zu Ihrer Sicherheit behandle ich Passwörter nicht"),
        "{reply}"
    );
    // The same question from someone who reads English.
    let c = chat(&w, Some(&w.customer_2)).await;
    let turn = ask(&w, Some(&w.customer_2), &c, "I forgot my password").await;
    assert!(
        turn["reply"]
            .as_str()
            .unwrap()
            .starts_with("For your security I don't handle passwords")
    );
}

/// Why a request was refused reaches the reader in their language: the API's problem
/// detail (with the field it is about named in that language too) and a page's notice,
/// for a browser that asks for German and for an agent who chose German; English for
/// an English reader of the very same refusal.
async fn refusals_speak_the_readers_language(backend: Backend) {
    let w = World::new(backend).await;
    let blank_subject = |accept: &'static str| {
        let w = &w;
        async move {
            let r = w
                .raw(
                    Some(&w.customer_1),
                    "POST",
                    "/api/v1/tickets",
                    Body::from(json!({"subject": "   ", "body": "Hallo"}).to_string()),
                    &[("content-type", "application/json"), ("accept-language", accept)],
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
            assert_eq!(r.headers.get("content-type").unwrap(), "application/problem+json");
            r.json()["detail"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        blank_subject("de-DE,de;q=0.9").await,
        "Das Feld „Betreff\" darf nicht leer sein"
    );
    assert_eq!(blank_subject("en").await, "subject must not be empty");
    // A refusal with a number in it, and one the page itself writes.
    let r = w
        .raw(
            Some(&w.agent_a),
            "GET",
            "/tickets?sort=sideways",
            Body::empty(),
            &[("accept-language", "de")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = r.text();
    assert!(
        page.contains("Das ging nicht") && page.contains("Diese Sortierung gibt es nicht"),
        "{page}"
    );
    assert!(
        !page.contains("no such order") && !page.contains("Bad Request"),
        "{page}"
    );

    // The agent chooses German: a form the service refuses comes back in German,
    // although the browser asks for English.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            "/api/v1/me/language",
            json!({"language": "de"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .raw(
            Some(&w.agent_a),
            "POST",
            "/customers",
            Body::from("name=Dora+Diaz&email=dora%40newco.test&phone=call+me"),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept-language", "en-GB,en"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains("Eine Telefonnummer besteht aus Ziffern, Leerzeichen und + - ( ) ."),
        "{page}"
    );
    assert!(!page.contains("phone must be"), "{page}");
    let r = w
        .raw(
            Some(&w.agent_a),
            "POST",
            "/api/v1/tickets",
            Body::from(json!({"subject": "Rechnung", "body": "x", "team_id": "nonsense"}).to_string()),
            &[("content-type", "application/json"), ("accept-language", "en")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let detail = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with("Keine gültige Kennung"), "{detail}");
}

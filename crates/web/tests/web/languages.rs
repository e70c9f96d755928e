//! The pages in the reader's language, on SQLite and PostgreSQL: a browser asking for
//! German gets German pages (words, dates, relative times, `lang`), a person's own
//! choice outranks what their browser asks, and clearing it hands the choice back to
//! the browser. Beside it the refusals: a language Palisade does not speak, and a
//! choice that reaches anyone but the one making it.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(pages_speak_the_readers_language);

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

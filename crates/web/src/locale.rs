//! The language a page is written in. Each request starts with its browser's
//! `Accept-Language` (English when Palisade speaks none of its languages); a signed-in
//! person's own choice replaces it when the caller is known. [`crate::ui::render`]
//! hands the language to the templates, whose `t` filters look their words up in the
//! catalogue ([`palisade_i18n`]).

use std::cell::Cell;

use axum::extract::Request;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE};
use axum::middleware::Next;
use axum::response::Response;
use palisade_i18n::Locale;

tokio::task_local! {
    static PAGE_LOCALE: Cell<Locale>;
}

/// Runs the request with the language its browser asks for.
pub async fn negotiate(request: Request, next: Next) -> Response {
    let asked = request
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(palisade_i18n::negotiate)
        .unwrap_or_default();
    PAGE_LOCALE
        .scope(Cell::new(asked), async move {
            let mut response = next.run(request).await;
            // The language the page was written in, once the caller's own choice is known.
            response.headers_mut().insert(
                CONTENT_LANGUAGE,
                axum::http::HeaderValue::from_static(current().tag()),
            );
            response
        })
        .await
}

/// A signed-in person's own choice (a tag), over what their browser asks.
pub fn prefer(tag: Option<&str>) {
    if let Some(locale) = tag.and_then(Locale::parse) {
        let _ = PAGE_LOCALE.try_with(|cell| cell.set(locale));
    }
}

/// The language of the page being written; English outside a request.
pub fn current() -> Locale {
    PAGE_LOCALE.try_with(Cell::get).unwrap_or_default()
}

/// The current language's word for `id`.
pub fn text(id: &str) -> String {
    palisade_i18n::text(current(), id)
}

/// The current language's word for `id`, for the pages' `&'static str` notices.
pub fn word(id: &'static str) -> &'static str {
    palisade_i18n::static_text(current(), id)
}

/// The current language's message `id` with its variables.
pub fn text_with(id: &str, args: &[(&str, palisade_i18n::Arg)]) -> String {
    palisade_i18n::text_with(current(), id, args)
}

/// A refusal in the current language.
pub fn refusal(refusal: &palisade_i18n::Refusal) -> String {
    refusal.render(current())
}

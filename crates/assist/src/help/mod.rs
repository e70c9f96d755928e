//! The self-service help centre: articles with versions, locales and audiences,
//! sanitised on save, searched in memory with tantivy, every read decided by Cedar.

mod audience;
mod centre;
mod draft;
mod index;
pub mod sanitize;

pub use audience::AudienceFilter;
pub use centre::HelpCentre;
pub use draft::{ArticleInput, MAX_BODY_CHARS, MAX_TITLE_CHARS, slug_from, valid_locale};
pub use index::{IndexedArticle, SearchHit, SearchIndex, SearchResults, Snippet};

//! The self-service help centre: articles with versions, locales and audiences,
//! sanitised on save, searched in memory with tantivy, every read decided by Cedar.

mod centre;
mod draft;
mod index;
mod statistics;

pub use centre::HelpCentre;
pub use draft::{ArticleInput, MAX_BODY_CHARS, MAX_TITLE_CHARS, slug_from};
pub use index::{IndexedArticle, SearchHit, SearchIndex, SearchResults, Snippet};
pub use palisade_core::valid_locale;

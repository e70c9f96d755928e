//! The help centre's searches, over the node's in-memory index kept up to date from the
//! database's change sequence — at once after this node's own changes (authors' writes
//! are the service layer's; the writer calls `catch_up(true)`), within a second after
//! another node's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_core::ArticleId;
use palisade_store::{ArticleChange, Store};
use tokio::sync::{Mutex, Semaphore};

use super::index::{IndexedArticle, SearchIndex, SearchResults};
use crate::AssistError;
use palisade_html::html_to_text;
use palisade_policy::AudienceFilter;

/// How stale another node's changes may be before a search looks for them.
const CHANGE_CHECK_INTERVAL: Duration = Duration::from_secs(1);
const CHANGES_PER_BATCH: u32 = 500;

struct Followed {
    /// The last change number applied to the index.
    seq: i64,
    checked_at: Option<Instant>,
}

#[derive(Clone)]
pub struct HelpCentre {
    store: Store,
    index: Arc<SearchIndex>,
    followed: Arc<Mutex<Followed>>,
    /// Searches running at once: two per core.
    searching: Arc<Semaphore>,
}

fn indexed(change: ArticleChange) -> (ArticleId, Option<IndexedArticle>) {
    let ArticleChange { article, published } = change;
    let entry = published.map(|version| IndexedArticle {
        id: article.id.clone(),
        slug: article.slug.clone(),
        locale: article.locale.clone(),
        audience: article.audience,
        companies: article.companies.clone(),
        title: version.title,
        text: html_to_text(&version.body_html),
    });
    (article.id, entry)
}

impl HelpCentre {
    /// Loads every published article into a fresh index.
    pub async fn open(store: Store) -> Result<Self, AssistError> {
        let centre = Self {
            store,
            index: Arc::new(SearchIndex::default()),
            followed: Arc::new(Mutex::new(Followed {
                seq: 0,
                checked_at: None,
            })),
            searching: Arc::new(Semaphore::new(
                2 * std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            )),
        };
        centre.catch_up(true).await?;
        tracing::info!(articles = centre.index.len(), "help-centre index built");
        Ok(centre)
    }

    /// Applies the changes made since the last one applied; unless `now`, at most once
    /// per [`CHANGE_CHECK_INTERVAL`].
    pub async fn catch_up(&self, now: bool) -> Result<(), AssistError> {
        let mut followed = self.followed.lock().await;
        if !now
            && followed
                .checked_at
                .is_some_and(|at| at.elapsed() < CHANGE_CHECK_INTERVAL)
        {
            return Ok(());
        }
        let head = self.store.help_centre_seq().await?;
        while followed.seq < head {
            let changes = self
                .store
                .articles_changed_since(followed.seq, CHANGES_PER_BATCH)
                .await?;
            // A change number taken by a transaction that has not committed yet is not
            // visible: stop there and pick it up next time.
            let Some(last) = changes.last().map(|c| c.article.change_seq) else {
                break;
            };
            let batch: Vec<_> = changes.into_iter().map(indexed).collect();
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || index.apply(batch))
                .await
                .map_err(|e| AssistError::Search(e.to_string()))??;
            followed.seq = last;
        }
        followed.checked_at = Some(Instant::now());
        Ok(())
    }

    /// Searches (or, with empty `text`, lists) the published articles of `locale` the
    /// filter allows.
    ///
    /// A search is milliseconds of CPU (scoring, then snippets). Run on the async
    /// workers it held one of them that long: the requests queued behind it (reads,
    /// database answers) waited while the other core could sit idle, and help searches
    /// used about three quarters of the machine. It runs on the blocking pool instead,
    /// at most two per core at a time (with one per core, the hand-over between
    /// searches still left a fifth of the machine idle), so the workers stay free and
    /// the cores busy.
    pub async fn search(
        &self,
        locale: &str,
        filter: &AudienceFilter,
        text: &str,
        limit: usize,
    ) -> Result<SearchResults, AssistError> {
        self.catch_up(false).await?;
        let _turn = self
            .searching
            .acquire()
            .await
            .map_err(|e| AssistError::Search(e.to_string()))?;
        let index = self.index.clone();
        let (locale, filter, text) = (locale.to_owned(), filter.clone(), text.to_owned());
        tokio::task::spawn_blocking(move || index.search(&locale, &filter, &text, limit))
            .await
            .map_err(|e| AssistError::Search(e.to_string()))?
    }

    /// The in-memory index itself, for the benchmark's bare-tantivy baseline.
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    pub fn indexed_articles(&self) -> usize {
        self.index.len()
    }
}

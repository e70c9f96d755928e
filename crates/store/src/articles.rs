//! Help-centre articles: the rows access decisions read, their sealed versions, and the
//! change sequence every node follows to keep its search index current.

use palisade_core::{ArticleId, Audience, CompanyId, UnixMillis, UserId};
use palisade_policy::{Action, ArticleFacts, Authorized};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::{Store, StoreError, Tx};

/// An article's current state (not its text, which is in its versions).
#[derive(Clone, Debug)]
pub struct ArticleRecord {
    pub id: ArticleId,
    /// Where readers find the published version; for an article never published, a
    /// placeholder (see [`ArticleRecord::published_slug`]).
    pub slug: String,
    pub locale: String,
    pub audience: Audience,
    pub companies: Vec<CompanyId>,
    pub latest_version: i64,
    pub published_version: Option<i64>,
    pub created_by: UserId,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    pub change_seq: i64,
}

/// The slug an unpublished article's row holds: unique, never a valid slug, and no
/// clue to the draft's title.
fn unpublished_slug(id: &ArticleId) -> String {
    format!("~{id}")
}

impl ArticleRecord {
    /// The slug readers reach the article at, once it has been published.
    pub fn published_slug(&self) -> Option<&str> {
        self.published_version.map(|_| self.slug.as_str())
    }

    pub fn facts(&self) -> ArticleFacts {
        ArticleFacts {
            id: self.id.clone(),
            audience: self.audience,
            companies: self.companies.clone(),
            published: self.published_version.is_some(),
        }
    }
}

/// One version of an article's text, opened.
#[derive(Clone, Debug)]
pub struct ArticleVersion {
    pub version: i64,
    pub title: String,
    /// Sanitised HTML (the help centre sanitises before it stores).
    pub body_html: String,
    /// Where this version lives once published (`None` for versions saved before
    /// versions had their own place: they keep the article's).
    pub slug: Option<String>,
    pub locale: Option<String>,
    pub author: UserId,
    pub created_at: UnixMillis,
}

/// What an author writes: where the article lives and who may read it, and its text.
#[derive(Clone, Debug)]
pub struct ArticleDraft {
    pub slug: String,
    pub locale: String,
    pub audience: Audience,
    pub companies: Vec<CompanyId>,
    pub title: String,
    pub body_html: String,
}

/// An article changed after some sequence number, with its published text if it has
/// one (what a search index holds).
#[derive(Debug)]
pub struct ArticleChange {
    pub article: ArticleRecord,
    pub published: Option<ArticleVersion>,
}

const ARTICLE_COLUMNS: &str = "a.id, a.slug, a.locale, a.audience, a.companies, a.latest_version, \
     a.published_version, a.created_by, a.created_at, a.updated_at, a.change_seq";

fn require(proof: &Authorized, article: &ArticleId) -> Result<(), StoreError> {
    if proof.covers(Action::ArticleManage, article.as_str()) {
        Ok(())
    } else {
        Err(StoreError::Unauthorized)
    }
}

fn article_from_row(row: &AnyRow) -> Result<ArticleRecord, StoreError> {
    let companies: String = row.try_get("companies")?;
    Ok(ArticleRecord {
        id: ArticleId::parse(&row.try_get::<String, _>("id")?)?,
        slug: row.try_get("slug")?,
        locale: row.try_get("locale")?,
        audience: Audience::parse(&row.try_get::<String, _>("audience")?)?,
        companies: companies
            .split_whitespace()
            .map(CompanyId::parse)
            .collect::<Result<_, _>>()?,
        latest_version: row.try_get("latest_version")?,
        published_version: row.try_get("published_version")?,
        created_by: UserId::parse(&row.try_get::<String, _>("created_by")?)?,
        created_at: UnixMillis(row.try_get("created_at")?),
        updated_at: UnixMillis(row.try_get("updated_at")?),
        change_seq: row.try_get("change_seq")?,
    })
}

/// The row id a version's sealed fields are bound to, so a version's text cannot be
/// moved to another article or version.
fn version_row(article: &ArticleId, version: i64) -> String {
    format!("{article}/{version}")
}

/// Whether readers of `to` are a subset of readers of `from` (staff read everything, so
/// internal narrows anything; public is widened by nothing).
pub fn narrows(
    from: Audience,
    from_companies: &[CompanyId],
    to: Audience,
    to_companies: &[CompanyId],
) -> bool {
    match (from, to) {
        (_, Audience::Internal) | (Audience::Public, _) => true,
        (Audience::Customers, Audience::Customers) => {
            from_companies.is_empty()
                || (!to_companies.is_empty() && to_companies.iter().all(|c| from_companies.contains(c)))
        }
        (Audience::Customers | Audience::Internal, Audience::Public)
        | (Audience::Internal, Audience::Customers) => false,
    }
}

fn join_companies(companies: &[CompanyId]) -> String {
    companies
        .iter()
        .map(CompanyId::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Store {
    /// Takes the next change number; the head row stays locked until `tx` ends, so
    /// numbers become visible in the order they were taken.
    async fn next_article_change(&self, tx: &mut Tx) -> Result<i64, StoreError> {
        let row = sqlx::query("UPDATE help_centre_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
            .fetch_one(tx.conn())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// A slug another article already has in the locale is refused when the draft is
    /// saved (two drafts may share one until the second is published).
    async fn refuse_taken_slug(
        &self,
        tx: &mut Tx,
        id: &ArticleId,
        draft: &ArticleDraft,
    ) -> Result<(), StoreError> {
        let taken = sqlx::query("SELECT 1 FROM articles WHERE locale = $1 AND slug = $2 AND id <> $3")
            .bind(&draft.locale)
            .bind(&draft.slug)
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?;
        match taken {
            Some(_) => Err(StoreError::Conflict),
            None => Ok(()),
        }
    }

    async fn insert_article_version(
        &self,
        tx: &mut Tx,
        article: &ArticleId,
        version: i64,
        author: &UserId,
        draft: &ArticleDraft,
    ) -> Result<(), StoreError> {
        let key = self.load_key_tx(tx, ORG_KEY_ID).await?;
        let row = version_row(article, version);
        sqlx::query(
            "INSERT INTO article_versions (article_id, version, title_enc, body_enc, audience, companies, \
             author_id, created_at, slug_enc, locale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(article.as_str())
        .bind(version)
        .bind(seal(
            &key,
            "article_versions",
            "title",
            &row,
            draft.title.as_bytes(),
        )?)
        .bind(seal(
            &key,
            "article_versions",
            "body",
            &row,
            draft.body_html.as_bytes(),
        )?)
        .bind(draft.audience.as_str())
        .bind(join_companies(&draft.companies))
        .bind(author.as_str())
        .bind(UnixMillis::now().0)
        .bind(seal(
            &key,
            "article_versions",
            "slug",
            &row,
            draft.slug.as_bytes(),
        )?)
        .bind(&draft.locale)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Creates an unpublished article with its first version. `id` must be the id the
    /// creation was authorised for. Its slug applies when a version is published (a
    /// taken (locale, slug) is a `Conflict` then).
    pub async fn create_article(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &ArticleId,
        author: &UserId,
        draft: &ArticleDraft,
    ) -> Result<(), StoreError> {
        require(proof, id)?;
        self.refuse_taken_slug(tx, id, draft).await?;
        let seq = self.next_article_change(tx).await?;
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO articles (id, slug, locale, audience, companies, latest_version, published_version, \
             created_by, created_at, updated_at, change_seq) VALUES ($1, $2, $3, $4, $5, 1, NULL, $6, $7, $7, $8)",
        )
        .bind(id.as_str())
        .bind(unpublished_slug(id))
        .bind(&draft.locale)
        .bind(draft.audience.as_str())
        .bind(join_companies(&draft.companies))
        .bind(author.as_str())
        .bind(now)
        .bind(seq)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        self.insert_article_version(tx, id, 1, author, draft).await
    }

    /// Saves a new version. Its slug and locale, like a wider audience, reach the
    /// article only when it is published; the published version, if any, stays where
    /// and as it is until then.
    pub async fn revise_article(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &ArticleId,
        author: &UserId,
        draft: &ArticleDraft,
    ) -> Result<i64, StoreError> {
        require(proof, id)?;
        self.refuse_taken_slug(tx, id, draft).await?;
        let seq = self.next_article_change(tx).await?;
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1");
        let current = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        let current = article_from_row(&current)?;
        // Readers of the published text change only towards fewer readers; a wider
        // audience waits until the version written for it is published.
        let (audience, companies) = if current.published_version.is_none()
            || narrows(
                current.audience,
                &current.companies,
                draft.audience,
                &draft.companies,
            ) {
            (draft.audience, draft.companies.clone())
        } else {
            (current.audience, current.companies.clone())
        };
        // An article never published may change its locale at once (its slug stays the
        // placeholder); one that has a place keeps it until the next publish.
        let locale = if current.slug == unpublished_slug(id) {
            draft.locale.clone()
        } else {
            current.locale.clone()
        };
        let row = sqlx::query(
            "UPDATE articles SET locale = $1, audience = $2, companies = $3, \
             latest_version = latest_version + 1, updated_at = $4, change_seq = $5 WHERE id = $6 \
             RETURNING latest_version",
        )
        .bind(&locale)
        .bind(audience.as_str())
        .bind(join_companies(&companies))
        .bind(UnixMillis::now().0)
        .bind(seq)
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await
        .map_err(StoreError::from_insert)?
        .ok_or(StoreError::NotFound)?;
        let version: i64 = row.try_get(0)?;
        self.insert_article_version(tx, id, version, author, draft)
            .await?;
        Ok(version)
    }

    /// Publishes `version` (which must exist), or withdraws the article with `None`.
    pub async fn set_published_version(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        id: &ArticleId,
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        require(proof, id)?;
        let seq = self.next_article_change(tx).await?;
        let done = match version {
            // The version's own readers come with it: an old version written for staff
            // is published for staff, whatever the latest draft says.
            Some(version) => {
                let written_for = sqlx::query(
                    "SELECT audience, companies, slug_enc, locale FROM article_versions \
                     WHERE article_id = $1 AND version = $2",
                )
                .bind(id.as_str())
                .bind(version)
                .fetch_optional(tx.conn())
                .await?
                .ok_or(StoreError::NotFound)?;
                // The version's place comes with it (older versions keep the article's).
                let place = match written_for.try_get::<Option<Vec<u8>>, _>("slug_enc")? {
                    Some(sealed) => {
                        let key = self.load_key_tx(tx, ORG_KEY_ID).await?;
                        let slug = open_text(
                            &key,
                            "article_versions",
                            "slug",
                            &version_row(id, version),
                            &sealed,
                        )?;
                        let locale: Option<String> = written_for.try_get("locale")?;
                        locale.map(|l| (slug, l))
                    }
                    None => None,
                };
                if let Some((slug, locale)) = &place {
                    sqlx::query("UPDATE articles SET slug = $1, locale = $2 WHERE id = $3")
                        .bind(slug)
                        .bind(locale)
                        .bind(id.as_str())
                        .execute(tx.conn())
                        .await
                        .map_err(StoreError::from_insert)?;
                }
                sqlx::query(
                    "UPDATE articles SET published_version = $1, audience = $2, companies = $3, updated_at = $4, \
                     change_seq = $5 WHERE id = $6",
                )
                .bind(version)
                .bind(written_for.try_get::<String, _>("audience")?)
                .bind(written_for.try_get::<String, _>("companies")?)
                .bind(UnixMillis::now().0)
                .bind(seq)
                .bind(id.as_str())
                .execute(tx.conn())
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE articles SET published_version = NULL, updated_at = $1, change_seq = $2 WHERE id = $3",
                )
                .bind(UnixMillis::now().0)
                .bind(seq)
                .bind(id.as_str())
                .execute(tx.conn())
                .await?
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn get_article(&self, id: &ArticleId) -> Result<Option<ArticleRecord>, StoreError> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    pub async fn article_by_slug(
        &self,
        locale: &str,
        slug: &str,
    ) -> Result<Option<ArticleRecord>, StoreError> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.locale = $1 AND a.slug = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(locale)
            .bind(slug)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    /// One version's text.
    pub async fn article_version(&self, id: &ArticleId, version: i64) -> Result<ArticleVersion, StoreError> {
        let row = sqlx::query(
            "SELECT version, title_enc, body_enc, slug_enc, locale, author_id, created_at FROM article_versions \
             WHERE article_id = $1 AND version = $2",
        )
        .bind(id.as_str())
        .bind(version)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        open_version(&key, id, &row)
    }

    /// Every version's title, author and date, newest first (text is fetched per version).
    pub async fn article_history(&self, id: &ArticleId) -> Result<Vec<ArticleVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, title_enc, body_enc, slug_enc, locale, author_id, created_at FROM article_versions \
             WHERE article_id = $1 ORDER BY version DESC",
        )
        .bind(id.as_str())
        .fetch_all(&self.read)
        .await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter()
            .map(|row| {
                let mut v = open_version(&key, id, row)?;
                v.body_html.clear();
                Ok(v)
            })
            .collect()
    }

    /// Articles with their latest title and (when it has its own) the latest version's
    /// slug, most recently changed first (for authors).
    pub async fn list_articles(
        &self,
        limit: u32,
    ) -> Result<Vec<(ArticleRecord, String, Option<String>)>, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS}, v.title_enc, v.slug_enc FROM articles a JOIN article_versions v \
             ON v.article_id = a.id AND v.version = a.latest_version ORDER BY a.updated_at DESC, a.id LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter()
            .map(|row| {
                let article = article_from_row(row)?;
                let row_id = version_row(&article.id, article.latest_version);
                let title = open_text(
                    &key,
                    "article_versions",
                    "title",
                    &row_id,
                    &row.try_get::<Vec<u8>, _>("title_enc")?,
                )?;
                let draft_slug = row
                    .try_get::<Option<Vec<u8>>, _>("slug_enc")?
                    .map(|sealed| open_text(&key, "article_versions", "slug", &row_id, &sealed))
                    .transpose()?;
                Ok((article, title, draft_slug))
            })
            .collect()
    }

    /// The last change number handed out (committed or not yet visible).
    pub async fn help_centre_seq(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT seq FROM help_centre_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Articles whose last change is after `after`, in change order, each with its
    /// published text.
    pub async fn articles_changed_since(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ArticleChange>, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS}, v.version, v.title_enc, v.body_enc, v.author_id, \
             v.created_at AS version_created_at FROM articles a LEFT JOIN article_versions v \
             ON v.article_id = a.id AND v.version = a.published_version \
             WHERE a.change_seq > $1 ORDER BY a.change_seq LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter()
            .map(|row| {
                let article = article_from_row(row)?;
                let published = match article.published_version {
                    Some(_) => Some(open_version_as(&key, &article.id, row, "version_created_at")?),
                    None => None,
                };
                Ok(ArticleChange { article, published })
            })
            .collect()
    }
}

fn open_version(
    key: &palisade_crypto::DataKey,
    id: &ArticleId,
    row: &AnyRow,
) -> Result<ArticleVersion, StoreError> {
    let mut version = open_version_as(key, id, row, "created_at")?;
    let row_id = version_row(id, version.version);
    version.slug = row
        .try_get::<Option<Vec<u8>>, _>("slug_enc")?
        .map(|sealed| open_text(key, "article_versions", "slug", &row_id, &sealed))
        .transpose()?;
    version.locale = row.try_get("locale")?;
    Ok(version)
}

fn open_version_as(
    key: &palisade_crypto::DataKey,
    id: &ArticleId,
    row: &AnyRow,
    created_column: &str,
) -> Result<ArticleVersion, StoreError> {
    let version: i64 = row.try_get("version")?;
    let row_id = version_row(id, version);
    Ok(ArticleVersion {
        version,
        title: open_text(
            key,
            "article_versions",
            "title",
            &row_id,
            &row.try_get::<Vec<u8>, _>("title_enc")?,
        )?,
        body_html: open_text(
            key,
            "article_versions",
            "body",
            &row_id,
            &row.try_get::<Vec<u8>, _>("body_enc")?,
        )?,
        slug: None,
        locale: None,
        author: UserId::parse(&row.try_get::<String, _>("author_id")?)?,
        created_at: UnixMillis(row.try_get(created_column)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_is_only_towards_fewer_readers() {
        use Audience::{Customers, Internal, Public};
        let acme = CompanyId::generate();
        let globex = CompanyId::generate();
        assert!(narrows(Public, &[], Customers, &[]));
        assert!(narrows(Public, &[], Internal, &[]));
        assert!(narrows(Customers, &[], Customers, std::slice::from_ref(&acme)));
        assert!(narrows(
            Customers,
            &[acme.clone(), globex.clone()],
            Customers,
            std::slice::from_ref(&acme)
        ));
        assert!(narrows(Customers, std::slice::from_ref(&acme), Internal, &[]));
        assert!(!narrows(Internal, &[], Public, &[]));
        assert!(!narrows(Internal, &[], Customers, &[]));
        assert!(!narrows(Customers, &[], Public, &[]));
        assert!(!narrows(Customers, std::slice::from_ref(&acme), Customers, &[]));
        assert!(!narrows(
            Customers,
            std::slice::from_ref(&acme),
            Customers,
            &[globex]
        ));
    }
}

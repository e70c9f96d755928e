//! Files of help-centre articles (images an article shows, documents it links), sealed
//! with the organisation's key. Adding one needs an `ArticleManage` proof for its
//! article; reading one is for callers that have already decided the reader may read
//! the article (the web layer, through the same check as the article's page).

use palisade_core::{ArticleFileId, ArticleId, UnixMillis, UserId};
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, open_text, seal};
use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct NewArticleFile {
    pub uploader: UserId,
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct ArticleFile {
    pub id: ArticleFileId,
    pub article: ArticleId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub content: Vec<u8>,
}

impl Store {
    pub async fn add_article_file(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        article: &ArticleId,
        new: &NewArticleFile,
    ) -> Result<ArticleFileId, StoreError> {
        if !proof.covers(Action::ArticleManage, article.as_str()) {
            return Err(StoreError::Unauthorized);
        }
        let id = ArticleFileId::generate();
        let key = self.load_key_tx(tx, ORG_KEY_ID).await?;
        sqlx::query(
            "INSERT INTO article_files (id, article_id, uploader_id, filename_enc, content_type, size_bytes, \
             content_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_str())
        .bind(article.as_str())
        .bind(new.uploader.as_str())
        .bind(seal(
            &key,
            "article_files",
            "filename",
            id.as_str(),
            new.filename.as_bytes(),
        )?)
        .bind(&new.content_type)
        .bind(i64::try_from(new.content.len()).unwrap_or(i64::MAX))
        .bind(seal(&key, "article_files", "content", id.as_str(), &new.content)?)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    /// The files of `article`, for the images its text may show.
    pub async fn article_file_ids(&self, article: &ArticleId) -> Result<Vec<ArticleFileId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM article_files WHERE article_id = $1")
            .bind(article.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(ArticleFileId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// The article a file belongs to, so the caller can decide before reading the file.
    pub async fn article_of_file(&self, id: &ArticleFileId) -> Result<ArticleId, StoreError> {
        let row = sqlx::query("SELECT article_id FROM article_files WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(ArticleId::parse(&row.try_get::<String, _>(0)?)?)
    }

    /// Reads and decrypts a file of `article`.
    pub async fn read_article_file(
        &self,
        article: &ArticleId,
        id: &ArticleFileId,
    ) -> Result<ArticleFile, StoreError> {
        let row = sqlx::query(
            "SELECT filename_enc, content_type, size_bytes, content_enc FROM article_files \
             WHERE id = $1 AND article_id = $2",
        )
        .bind(id.as_str())
        .bind(article.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        Ok(ArticleFile {
            id: id.clone(),
            article: article.clone(),
            filename: open_text(
                &key,
                "article_files",
                "filename",
                id.as_str(),
                &row.try_get::<Vec<u8>, _>("filename_enc")?,
            )?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size_bytes")?,
            content: open_bytes(
                &key,
                "article_files",
                "content",
                id.as_str(),
                &row.try_get::<Vec<u8>, _>("content_enc")?,
            )?,
        })
    }
}

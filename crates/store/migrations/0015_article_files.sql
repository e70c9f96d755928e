-- Files (mostly images) of help-centre articles, sealed with the organisation's data
-- key like the articles' text. Served only to those who may read the article.
CREATE TABLE article_files (
    id            TEXT PRIMARY KEY,
    article_id    TEXT NOT NULL REFERENCES articles (id),
    uploader_id   TEXT NOT NULL REFERENCES users (id),
    filename_enc  BYTEA NOT NULL,
    -- Sniffed from the bytes on upload, never the uploader's claim.
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    content_enc   BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX article_files_article ON article_files (article_id);

-- Where a version of an article lives (its slug, sealed like its title, and its
-- locale) belongs to that version and reaches the article row only when the version is
-- published: saving a draft never moves the live article, and a draft's slug (often
-- made from a title not yet public) is never stored in clear. Versions saved before
-- this migration have NULL here and keep the article's current place when published.
ALTER TABLE article_versions ADD COLUMN slug_enc BYTEA;
ALTER TABLE article_versions ADD COLUMN locale TEXT;

-- Help-centre articles. The row holds what access decisions need (the audience and
-- companies of what readers get, whether and which version is published); titles and bodies live in versions, sealed
-- with the organisation's data key like every other text staff write.
CREATE TABLE articles (
    id                TEXT PRIMARY KEY,
    slug              TEXT NOT NULL,
    locale            TEXT NOT NULL,
    audience          TEXT NOT NULL,
    -- Space-separated company ids when the audience is limited to some companies.
    companies         TEXT NOT NULL,
    latest_version    BIGINT NOT NULL,
    published_version BIGINT,
    created_by        TEXT NOT NULL REFERENCES users (id),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- The help_centre_head sequence number of the article's last change: every node
    -- brings its in-memory search index up to date by reading the changes after the
    -- last number it has seen.
    change_seq        BIGINT NOT NULL
);
CREATE UNIQUE INDEX articles_locale_slug ON articles (locale, slug);
CREATE INDEX articles_change_seq ON articles (change_seq);

CREATE TABLE article_versions (
    article_id  TEXT NOT NULL REFERENCES articles (id),
    version     BIGINT NOT NULL,
    title_enc   BYTEA NOT NULL,
    body_enc    BYTEA NOT NULL,
    -- Who the author wrote this version for. The article row takes it when this version
    -- is published (or at once when it narrows the readers), so saving a draft for a
    -- wider audience never widens who reads the text already published.
    audience    TEXT NOT NULL,
    companies   TEXT NOT NULL,
    author_id   TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (article_id, version)
);

-- One row: the last change number handed out. Its row lock orders article changes, so
-- change numbers commit in the order they were taken.
CREATE TABLE help_centre_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL
);
INSERT INTO help_centre_head (id, seq) VALUES (1, 0);

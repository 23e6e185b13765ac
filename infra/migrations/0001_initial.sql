-- newswatch initial schema: runs, articles, watches, alerts outbox, e-mails, fetch errors.

CREATE TABLE runs (
    id              bigserial PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running',
    sources         text[] NOT NULL DEFAULT '{}',
    pages_fetched   integer NOT NULL DEFAULT 0,
    articles_new    integer NOT NULL DEFAULT 0,
    articles_duplicate integer NOT NULL DEFAULT 0,
    alerts_new      integer NOT NULL DEFAULT 0,
    emails_sent     integer NOT NULL DEFAULT 0,
    error_count     integer NOT NULL DEFAULT 0,
    summary         jsonb
);

CREATE TABLE articles (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL,
    url             text NOT NULL,
    canonical_url   text NOT NULL,
    content_hash    text NOT NULL,
    story_id        bigint,
    title           text NOT NULL,
    body            text NOT NULL,
    publisher       text,
    published_at    timestamptz,
    language        text NOT NULL,
    hashtags        text[] NOT NULL DEFAULT '{}',
    fetched_at      timestamptz NOT NULL,
    run_id          bigint REFERENCES runs (id),
    ts_config       regconfig NOT NULL,
    tsv             tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector(ts_config, title), 'A')
                        || to_tsvector(ts_config, body)
                    ) STORED,
    matched_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT articles_canonical_url_key UNIQUE (canonical_url),
    CONSTRAINT articles_content_hash_key UNIQUE (content_hash)
);
CREATE INDEX articles_tsv_idx ON articles USING gin (tsv);
CREATE INDEX articles_unmatched_idx ON articles (id) WHERE matched_at IS NULL;
CREATE INDEX articles_story_idx ON articles (story_id);

-- Every URL an article was seen under (aliases, tracking variants), so later crawls can skip them.
CREATE TABLE article_urls (
    url             text PRIMARY KEY,
    article_id      bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);

CREATE TABLE watches (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    query           text NOT NULL,
    email           text NOT NULL,
    muted           boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE emails (
    id              bigserial PRIMARY KEY,
    recipient       text NOT NULL,
    message_id      text NOT NULL UNIQUE,
    run_id          bigint REFERENCES runs (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    delivered_via   text,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text
);
CREATE INDEX emails_unsent_idx ON emails (id) WHERE sent_at IS NULL;

-- The alert outbox: one row per (watch, article), attached to the e-mail that carries it.
CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    watch_id        bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    article_id      bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    run_id          bigint REFERENCES runs (id),
    email_id        bigint REFERENCES emails (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_watch_article_key UNIQUE (watch_id, article_id)
);
CREATE INDEX alerts_unassigned_idx ON alerts (id) WHERE email_id IS NULL;
CREATE INDEX alerts_email_idx ON alerts (email_id);

CREATE TABLE fetch_errors (
    id              bigserial PRIMARY KEY,
    run_id          bigint REFERENCES runs (id),
    source          text NOT NULL,
    url             text NOT NULL,
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

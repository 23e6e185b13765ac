-- depends: 0004_source_runs_and_notices
-- Adaptive polling and fleet shards, shared by every worker and machine through Postgres.
-- source_polls: one row per source: its shard, when it is next due, who holds it now (a lease,
-- so a source is never crawled twice at once and a crashed worker's sources come back), and
-- its freshness (last news, error streak). entry_polls: one row per entry point (listing, feed,
-- sitemap) with its own interval and the history it is computed from.

CREATE TABLE source_polls (
    source          text PRIMARY KEY,
    shard           integer NOT NULL,
    next_poll_at    timestamptz NOT NULL DEFAULT now(),
    not_before      timestamptz,
    lease_owner     text,
    lease_until     timestamptz,
    last_polled_at  timestamptz,
    last_news_at    timestamptz,
    error_streak    integer NOT NULL DEFAULT 0,
    last_error      text,
    polls           integer NOT NULL DEFAULT 0
);
CREATE INDEX source_polls_due_idx ON source_polls (shard, next_poll_at);

CREATE TABLE entry_polls (
    url             text PRIMARY KEY,
    source          text NOT NULL,
    interval_seconds double precision NOT NULL,
    next_poll_at    timestamptz NOT NULL DEFAULT now(),
    last_polled_at  timestamptz,
    last_news_at    timestamptz,
    polls           integer NOT NULL DEFAULT 0,
    news_polls      integer NOT NULL DEFAULT 0,
    -- Stated publication times (epoch seconds) of the newest stories it brought, newest last.
    recent_published double precision[] NOT NULL DEFAULT '{}',
    -- Stories it brought, by UTC hour of their stated publication time.
    news_by_hour    integer[] NOT NULL DEFAULT array_fill(0, ARRAY[24])
);
CREATE INDEX entry_polls_source_idx ON entry_polls (source);

-- depends: 0001_initial
-- Per-source results of each run (crawl statistics for the dashboards, and the history that
-- tells when a source has stored nothing for N runs in a row), and notices sent to the admin.

CREATE TABLE source_runs (
    id              bigserial PRIMARY KEY,
    run_id          bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source          text NOT NULL,
    flow_run_id     text,
    finished_at     timestamptz NOT NULL DEFAULT now(),
    crawl_ok        boolean NOT NULL,
    pages_fetched   integer NOT NULL DEFAULT 0,
    bytes_received  bigint NOT NULL DEFAULT 0,
    status_counts   jsonb NOT NULL DEFAULT '{}',
    errors          integer NOT NULL DEFAULT 0,
    skipped         integer NOT NULL DEFAULT 0,
    articles_new    integer NOT NULL DEFAULT 0,
    articles_duplicate integer NOT NULL DEFAULT 0,
    seconds         double precision NOT NULL DEFAULT 0,
    CONSTRAINT source_runs_run_source_key UNIQUE (run_id, source)
);
CREATE INDEX source_runs_source_idx ON source_runs (source, id DESC);

-- One row per notice; `notice_key` makes sending idempotent across retries and workers
-- (e.g. "run-failed:<flow run id>", "source-idle:<source>:<first idle source_runs id>").
CREATE TABLE admin_notices (
    id              bigserial PRIMARY KEY,
    notice_key      text NOT NULL UNIQUE,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    message_id      text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    delivered_via   text,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text
);

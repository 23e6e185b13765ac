-- depends: 0001_initial
-- Crawl state shared by every run, worker and machine: HTTP validators of entry points (listing
-- pages, feeds, sitemaps), so reruns ask "changed since?" instead of fetching them again.

CREATE TABLE http_validators (
    url             text PRIMARY KEY,
    source          text NOT NULL,
    etag            text,
    last_modified   text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT http_validators_has_one CHECK (etag IS NOT NULL OR last_modified IS NOT NULL)
);
CREATE INDEX http_validators_source_idx ON http_validators (source);
CREATE INDEX fetch_errors_run_idx ON fetch_errors (run_id);

-- depends: 0001_initial
-- Stories across copies, per-story alerts, watch recipients and delivery modes, the watch-term
-- index used for matching at scale, and digest e-mails.

-- Near-duplicate linking: MinHash LSH band keys of every stored article (see flows/store/stories.py).
-- Kept in Postgres so every run and every concurrent worker sees the same index.
CREATE TABLE story_bands (
    band_key        bigint NOT NULL,
    article_id      bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (band_key, article_id)
);
CREATE INDEX story_bands_article_idx ON story_bands (article_id);
UPDATE articles SET story_id = id WHERE story_id IS NULL;
-- The original publisher's URL when a page names it (Daily8 pages do not; other sources may).
ALTER TABLE articles ADD COLUMN original_url text;

-- Watches: a stemming language (NULL: each article's own), a delivery mode, many recipients.
ALTER TABLE watches
    ADD COLUMN language text,
    ADD COLUMN ts_config regconfig,
    ADD COLUMN mode text NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
    ADD COLUMN digest_hour smallint NOT NULL DEFAULT 7 CHECK (digest_hour BETWEEN 0 AND 23),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE watch_recipients (
    watch_id        bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    email           text NOT NULL,
    PRIMARY KEY (watch_id, email)
);
INSERT INTO watch_recipients (watch_id, email) SELECT id, email FROM watches;

-- Matching index: each watch's tsquery per text-search configuration, and the lexemes of which
-- every match must contain at least one. `broad` queries (only negations) have no such set and
-- are checked against the whole batch.
CREATE TABLE watch_queries (
    watch_id        bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    ts_config       regconfig NOT NULL,
    query           tsquery NOT NULL,
    broad           boolean NOT NULL,
    PRIMARY KEY (watch_id, ts_config)
);
CREATE INDEX watch_queries_broad_idx ON watch_queries (ts_config) WHERE broad;
CREATE TABLE watch_terms (
    ts_config       regconfig NOT NULL,
    lexeme          text NOT NULL,
    watch_id        bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    PRIMARY KEY (ts_config, lexeme, watch_id)
);
CREATE INDEX watch_terms_watch_idx ON watch_terms (watch_id);

-- E-mails: instant or digest (one digest per recipient and day), rendered once when queued so a
-- resend after a crash is byte-identical.
ALTER TABLE emails
    ADD COLUMN kind text NOT NULL DEFAULT 'instant' CHECK (kind IN ('instant', 'digest')),
    ADD COLUMN digest_day date,
    ADD COLUMN content bytea;
CREATE UNIQUE INDEX emails_one_digest_per_day ON emails (recipient, digest_day)
    WHERE kind = 'digest';

-- Alerts are per story: one per (watch, story), naming the first matching copy.
ALTER TABLE alerts ADD COLUMN story_id bigint;
UPDATE alerts al SET story_id = ar.story_id FROM articles ar WHERE ar.id = al.article_id;
DELETE FROM alerts later USING alerts earlier
    WHERE later.watch_id = earlier.watch_id AND later.story_id = earlier.story_id
      AND later.id > earlier.id;
ALTER TABLE alerts ALTER COLUMN story_id SET NOT NULL;
ALTER TABLE alerts DROP CONSTRAINT alerts_watch_article_key;
ALTER TABLE alerts ADD CONSTRAINT alerts_watch_story_key UNIQUE (watch_id, story_id);

-- Matching writes one alert and one delivery row per match, tens of thousands per batch at
-- scale; a foreign-key check per row costs more than finding the matches, so these hot tables
-- carry none: articles are never deleted, and flows/match/watches.py removes a watch's alerts and
-- pending deliveries with it.
ALTER TABLE alerts DROP CONSTRAINT alerts_watch_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_article_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_run_id_fkey;

-- What each recipient is told: a story reaches a recipient once, whichever watches match it.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    recipient       text NOT NULL,
    story_id        bigint NOT NULL,
    alert_id        bigint NOT NULL,
    email_id        bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deliveries_recipient_story_key UNIQUE (recipient, story_id)
);
CREATE INDEX deliveries_pending_idx ON deliveries (id) WHERE email_id IS NULL;
CREATE INDEX deliveries_email_idx ON deliveries (email_id);
INSERT INTO deliveries (recipient, story_id, alert_id, email_id)
SELECT w.email, al.story_id, al.id, al.email_id
FROM alerts al JOIN watches w ON w.id = al.watch_id
ORDER BY al.id
ON CONFLICT DO NOTHING;

DROP INDEX alerts_unassigned_idx;
DROP INDEX alerts_email_idx;
ALTER TABLE alerts DROP COLUMN email_id;
ALTER TABLE watches DROP COLUMN email;

-- The matching queue. Marking an article matched by UPDATE recomputes its stored tsvector (a
-- to_tsvector of the whole body per row, most of a batch's matching time), so articles to match
-- are queued here instead: a trigger queues every inserted article, whatever code inserts it, and
-- matching deletes its claimed rows in the transaction that writes their alerts.
-- articles.matched_at is no longer written.
CREATE TABLE unmatched_articles (
    article_id      bigint PRIMARY KEY
);
INSERT INTO unmatched_articles (article_id) SELECT id FROM articles WHERE matched_at IS NULL;
DROP INDEX articles_unmatched_idx;

CREATE FUNCTION queue_article_for_matching() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unmatched_articles (article_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER articles_queue_for_matching AFTER INSERT ON articles
    FOR EACH ROW EXECUTE FUNCTION queue_article_for_matching();

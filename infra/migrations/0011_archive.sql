-- depends: 0009_webapp
-- The archive and the story page.
-- article_ts_configs: the text-search configurations stored articles use, kept exact by
-- triggers. A search over every language (the archive, the preview, backfill) needs one branch
-- per configuration; on a server with 29 of them, a query excluding a common word cost 29 scans
-- of its posting list. Searching only the configurations in use gives the same matches.

CREATE TABLE article_ts_configs (
    ts_config   regconfig PRIMARY KEY
);

INSERT INTO article_ts_configs SELECT DISTINCT ts_config FROM articles;

CREATE FUNCTION remember_inserted_ts_configs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_ts_configs SELECT DISTINCT ts_config FROM inserted_articles
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_remember_ts_configs AFTER INSERT ON articles
    REFERENCING NEW TABLE AS inserted_articles
    FOR EACH STATEMENT EXECUTE FUNCTION remember_inserted_ts_configs();

CREATE FUNCTION remember_updated_ts_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_ts_configs VALUES (NEW.ts_config) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER articles_remember_updated_ts_config AFTER UPDATE OF ts_config ON articles
    FOR EACH ROW WHEN (OLD.ts_config IS DISTINCT FROM NEW.ts_config)
    EXECUTE FUNCTION remember_updated_ts_config();

-- When each article URL was first and last met: a copy stored under another URL, an exact
-- duplicate from another outlet (kept as an alias, not stored twice), and a later crawl that
-- meets a stored URL in a listing or feed and skips the page (the story page's "last seen").
-- NULL for URLs stored before these columns: known only by their article's stored time.
ALTER TABLE article_urls ADD COLUMN first_seen_at timestamptz, ADD COLUMN last_seen_at timestamptz;
ALTER TABLE article_urls ALTER COLUMN first_seen_at SET DEFAULT now(),
                         ALTER COLUMN last_seen_at SET DEFAULT now();

-- depends: 0006_story_keys_multiply_shift
-- The web app: recipients' own delivery choices, single-use link nonces, editors' accounts and
-- login throttling, per-watch time zones and feed keys, chat/webhook channels and their
-- once-per-story deliveries, and the indexes the archive and the preview search by.

-- What a recipient chose for themselves (reached by a signed link, no account). NULL mode, hour
-- or time zone: each watch's own. Raising token_generation invalidates every link sent so far.
CREATE TABLE recipients (
    email           text PRIMARY KEY,
    paused          boolean NOT NULL DEFAULT false,
    mode            text CHECK (mode IN ('instant', 'digest')),
    digest_hour     smallint CHECK (digest_hour BETWEEN 0 AND 23),
    time_zone       text,
    token_generation integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Links that act once (one-click unsubscribe): their nonce, once used.
CREATE TABLE used_link_nonces (
    nonce           text PRIMARY KEY,
    email           text NOT NULL,
    used_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE editors (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    email           text NOT NULL,
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_login_at   timestamptz
);

CREATE TABLE login_failures (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL,
    client          text NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures (username, failed_at);
CREATE INDEX login_failures_client_idx ON login_failures (client, failed_at);

-- The time zone a watch's digest hour is in; the feed key generation of its Atom feed.
ALTER TABLE watches
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC',
    ADD COLUMN feed_generation integer NOT NULL DEFAULT 1;

-- Chat and webhook targets of a watch (Apprise URLs: they hold credentials, never shown back).
CREATE TABLE watch_channels (
    id              bigserial PRIMARY KEY,
    watch_id        bigint NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    url             text NOT NULL,
    label           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watch_channels_watch_url_key UNIQUE (watch_id, url)
);

-- A story reaches a channel once, like a recipient (unique per channel and story).
CREATE TABLE channel_deliveries (
    id              bigserial PRIMARY KEY,
    channel_id      bigint NOT NULL REFERENCES watch_channels (id) ON DELETE CASCADE,
    story_id        bigint NOT NULL,
    alert_id        bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    CONSTRAINT channel_deliveries_channel_story_key UNIQUE (channel_id, story_id)
);
CREATE INDEX channel_deliveries_unsent_idx ON channel_deliveries (id) WHERE sent_at IS NULL;

-- Archive order (newest first) and the preview's stored-in-the-last-N-days windows.
CREATE INDEX articles_newest_idx ON articles ((coalesce(published_at, fetched_at)) DESC, id DESC);
CREATE INDEX articles_fetched_idx ON articles (fetched_at);

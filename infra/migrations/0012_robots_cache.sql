-- depends: 0010_fleet_polling 0011_archive
-- robots.txt kept between crawls, per origin (scheme://host:port), for as long as its HTTP
-- caching headers allow (at most a day, RFC 9309): a fleet polling a feed every minute or two
-- would otherwise fetch robots.txt at every poll, one request of every two.

CREATE TABLE robots_cache (
    origin      text PRIMARY KEY,
    status      integer NOT NULL,
    body        bytea NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

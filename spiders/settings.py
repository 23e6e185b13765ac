"""Scrapy settings shared by every source; per-source values come from the sources file.

Any of them can be overridden per run with `scrapy crawl SOURCE -s NAME=VALUE`.
"""

from flows.config.settings import Settings

_settings = Settings()

BOT_NAME = "newswatch"
SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "spiders.loader.SourceSpiderLoader"
NEWSWATCH_SOURCES_FILE = str(_settings.sources_file)
# Serve every source from this origin instead (a staging copy or the local test site).
NEWSWATCH_ORIGIN = ""
# Incremental crawling reads this database; empty: DATABASE_URL, else the embedded server.
NEWSWATCH_DATABASE_URL = _settings.database_url or ""
NEWSWATCH_INCREMENTAL = True
NEWSWATCH_MAX_CRAWL_DELAY = 60.0  # seconds; a longer robots.txt Crawl-delay is capped
NEWSWATCH_MAX_RETRY_AFTER = 60.0  # seconds; a server asking to wait longer is not retried
NEWSWATCH_BACKOFF_BASE = 1.0  # seconds; first back-off on 429/503 without Retry-After

# Names the project and how to reach its operator (NEWSWATCH_CONTACT_URL).
USER_AGENT = _settings.resolved_user_agent
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs Python code sent over HTTP and leaves a job file in the user's
# profile for every crawl; an unattended crawl child needs neither (nor its aiohttp import).
REMOTE_CONTROL_ENABLED = False

# Politeness: AutoThrottle adapts the delay to the server; the source's download_delay is the floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
# Items handled at once per response. Scrapy starts that many asyncio workers for each response's
# output; a page yields at most one item here, so 100 (the default) is pure overhead: about a
# fifth of the crawl's CPU on a fast local site (profiled with cProfile).
CONCURRENT_ITEMS = 4
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.robots.CachedRobotsTxtMiddleware": 100,
    "spiders.budget.PageBudgetMiddleware": 100,
    "spiders.politeness.CrawlDelayMiddleware": 110,
    "spiders.incremental.ConditionalRequestMiddleware": 540,
    "spiders.prefetched.PrefetchedResponseMiddleware": 545,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.politeness.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "spiders.refresh.HeadMetaRefreshMiddleware": 580,
}
SPIDER_MIDDLEWARES = {
    "spiders.failures.OwnFailureMiddleware": 10,
    "spiders.incremental.KnownUrlMiddleware": 950,
}
NEWSWATCH_ROBOTS_CACHE_SECONDS = 3600.0  # robots.txt kept this long when it says nothing
NEWSWATCH_DB_RECONNECT_SECONDS = 10.0  # a broken crawl database connection is retried this long
ITEM_PIPELINES = {
    "spiders.pipelines.SpoolPipeline": 100,
    "spiders.ingest.IngestPipeline": 200,
}
EXTENSIONS = {"spiders.progress.ProgressLines": 500}
NEWSWATCH_PROGRESS_INTERVAL = 2.0
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

"""Scrapy settings shared by every source; per-source values come from the sources file."""

from flows.settings import Settings

_settings = Settings()

BOT_NAME = "newswatch"
SPIDER_MODULES: list[str] = []
SPIDER_LOADER_CLASS = "spiders.loader.SourceSpiderLoader"
NEWSWATCH_SOURCES_FILE = str(_settings.sources_file)

USER_AGENT = _settings.resolved_user_agent
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Politeness: AutoThrottle adapts the delay to the server; the source's download_delay is the floor.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5

ITEM_PIPELINES = {"spiders.pipelines.SpoolPipeline": 100}
EXTENSIONS = {"spiders.progress.ProgressLines": 500}
NEWSWATCH_PROGRESS_INTERVAL = 2.0
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

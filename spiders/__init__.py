"""The Scrapy project: spiders only fetch; extraction and storage happen in flows/."""

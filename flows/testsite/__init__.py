"""A Daily8-shaped test site on 127.0.0.1, so crawling and extraction can be tested offline."""

from .server import TestSite
from .stories import Story, load_stories

__all__ = ["Story", "TestSite", "load_stories"]

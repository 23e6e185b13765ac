"""Fetch: crawl child processes, the spool, "changed since?" probes, crawl history, URLs."""

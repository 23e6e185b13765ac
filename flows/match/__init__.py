"""Match: watch queries, watches, the watch-term index, matching new articles."""

"""The local stack without Docker: Prefect server, workers, up/down/status."""

"""Prefect glue: deployments, dashboards, state hooks, Prefect's environment."""

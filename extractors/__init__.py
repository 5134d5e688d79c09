"""Plain-Python API clients and streams for GitHub, PagerDuty and Zendesk (no Dagster here)."""

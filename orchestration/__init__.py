"""The Dagster code location of platform-kpis."""

"""Loading the warehouse beside the raw layer: the catalog's tables and the billing export,
which dbt reads as sources. Above the extractors (it creates the raw tables dbt expects),
below the Dagster code location that runs it."""

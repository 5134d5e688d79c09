"""The command line (``platform-kpis demo|run|status|report|ui``): the top layer, above the
Dagster code location it runs, the report it rebuilds and the stores it reads."""

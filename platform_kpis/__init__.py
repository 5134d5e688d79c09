"""platform-kpis: engineering exhaust into platform KPI marts."""

"""The executive report: one self-contained HTML page built from the published marts only."""

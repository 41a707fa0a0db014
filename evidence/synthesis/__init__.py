"""Statistics and evidence summaries computed from the tables (numbers, never figures)."""

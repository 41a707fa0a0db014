"""The curated records: schema, strict loading, tidy tables, provenance checks, verdict vocabulary."""

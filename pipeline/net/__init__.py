"""HTTP pieces that every network client shares (speech services, the web ingest)."""

"""The web ingest: articles taken from the newsroom's own site (feeds, sitemaps, URLs, WordPress).

``client`` fetches politely (robots.txt, conditional requests, deadlines); ``feeds``, ``sitemaps``
and ``wordpress`` turn a source's document into ``Entry`` objects; ``extract`` turns a page into an
``Extracted`` article; ``harvest`` runs a night's ingest and keeps each fetched version in the job
folder, as an article file the rest of the pipeline reads like any other.
"""

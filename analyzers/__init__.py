"""Baselines, Elasticsearch aggregation queries, statistical tests and analyzer jobs."""

"""Ships every prediction to Elasticsearch without blocking the serving path."""

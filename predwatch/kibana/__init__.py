"""Kibana saved objects (data views, Lens visualizations, dashboards) generated per model."""

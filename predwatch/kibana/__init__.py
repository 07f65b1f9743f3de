"""Kibana saved objects (data views, Lens visualizations, saved searches, dashboards)
generated per model from its baseline, exported as NDJSON or imported into Kibana."""

from predwatch.kibana.context import KibanaError, object_id
from predwatch.kibana.importer import ImportResult, import_objects
from predwatch.kibana.objects import saved_objects

__all__ = ["ImportResult", "KibanaError", "import_objects", "object_id", "saved_objects"]

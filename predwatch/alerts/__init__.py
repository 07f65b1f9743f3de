"""Alert rules declared once, rendered to Watcher and Kibana rules, and evaluated by predwatch."""

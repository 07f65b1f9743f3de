"""Code shared by tests: fakes, data builders, checks. Imported as `tests.helpers.<module>`
(pytest puts the repository root on sys.path: `pythonpath` in pyproject.toml)."""

"""predwatch's tests; `tests.helpers` holds the code tests share (docs/contributing.md)."""

"""`predwatch demo`: a real model, a real serving app, a week of traffic with injected
failures, and what predwatch's analyzers and alerts find. See `predwatch.demo.cli`."""

from predwatch.demo.cli import demo

__all__ = ["demo"]

"""PromQL helpers: quoting, selectors and the metric-name extraction the contract relies on."""

from __future__ import annotations

from predwatch.grafana.promql import metric_names, quote, selector


class TestQuote:
    def test_escapes_quotes_and_backslashes(self) -> None:
        """A feature name with a quote or backslash stays one PromQL string."""
        assert quote('a"b\\c') == '"a\\"b\\\\c"'


class TestSelector:
    def test_equality_and_regex_matchers(self) -> None:
        """Equality matchers come first, regex matchers keep the variable as written."""
        got = selector("m_total", {"model": "credit", "feature": "loan amount"}, {"v": "$v"})
        assert got == 'm_total{model="credit", feature="loan amount", v=~"$v"}'


class TestMetricNames:
    def test_histogram_quantile_of_a_rate(self) -> None:
        """Functions, `by` lists, label matchers and ranges are not metric names."""
        expr = (
            'histogram_quantile(0.95, sum by (le) (rate(lat_bucket{model="x"}[$__rate_interval])))'
        )
        assert metric_names(expr) == {"lat_bucket"}

    def test_binary_operators_and_group_left(self) -> None:
        """Both sides of a division with `ignoring (...) group_left` are read."""
        expr = (
            'sum by (feature) (rate(miss_total{model="m"}[5m])) / ignoring (feature) '
            'group_left sum (rate(pred_total{model="m"}[5m]))'
        )
        assert metric_names(expr) == {"miss_total", "pred_total"}

    def test_strings_and_constants_hold_no_names(self) -> None:
        """`vector(0.42)` and label values that look like names add nothing."""
        assert metric_names("vector(0.42)") == set()
        assert metric_names('up{job="not_a_metric"} or vector(1e3)') == {"up"}

    def test_or_between_selectors(self) -> None:
        """Every operand of `or` is read; `or` itself is a keyword."""
        assert metric_names('a{s="x"} * 1 or b{s="y"} * 2') == {"a", "b"}

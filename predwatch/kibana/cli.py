"""`predwatch setup kibana` (import the saved objects) and `predwatch kibana export` (write
them as NDJSON for people who import by hand)."""

from __future__ import annotations

import functools
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from predwatch.baseline import Baseline, load_baseline
from predwatch.cli_common import (
    PredwatchGroup,
    baseline_option,
    credential_options,
    echo_json,
    fail,
    model_option,
)
from predwatch.config import KibanaConfig
from predwatch.errors import PredwatchError
from predwatch.kibana import contract, ndjson
from predwatch.kibana.context import DASHBOARDS, DEFAULT_MAX_FEATURES, Ctx, KibanaError
from predwatch.kibana.dashboards import dashboard_url
from predwatch.kibana.importer import import_objects
from predwatch.kibana.objects import saved_objects

F = TypeVar("F", bound=Callable[..., Any])
Obj = dict[str, Any]


def _one_line_errors(fn: F) -> F:
    """PredwatchError -> one line and its exit code, also when run outside the main group."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PredwatchError as exc:
            fail(str(exc), exc.exit_code)
        return None

    return wrapper  # type: ignore[return-value]


def _generate(
    model: str, baseline_path: str | None, space: str, base_path: str, max_features: int
) -> tuple[list[Obj], Baseline | None]:
    baseline = load_baseline(baseline_path) if baseline_path else None
    objects = saved_objects(
        baseline, model, space=space, base_path=base_path, max_features=max_features
    )
    problems = contract.check(objects, model, baseline)
    if problems:  # a bug in the generator, never the user's fault: stop before Kibana sees it
        raise KibanaError(f"generated saved objects break the contract: {problems[0]}")
    return objects, baseline


def _dashboards(model: str, space: str, base_path: str, root: str = "") -> dict[str, str]:
    ctx = Ctx(model, space, base_path)
    return {w: root.rstrip("/") + dashboard_url(ctx.dashboard(w), space) for w in DASHBOARDS}


_baseline_option = baseline_option(
    "baseline JSON of the model: per-feature panels (without it: generic panels only)"
)
_max_option = click.option(
    "--max-features",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_FEATURES,
    show_default=True,
    help="features that get their own panels (the rest are listed on the inputs dashboard)",
)
_space_option = click.option(
    "--space",
    default="default",
    show_default=True,
    envvar="PREDWATCH_KIBANA_SPACE",
    help="Kibana space id (the <id> in /s/<id>/) [env PREDWATCH_KIBANA_SPACE]",
)


@click.command("kibana")
@click.option(
    "--url",
    envvar="PREDWATCH_KIBANA_URL",
    required=True,
    help="Kibana URL, e.g. http://localhost:5601 [env PREDWATCH_KIBANA_URL]",
)
@_space_option
@model_option()
@_baseline_option
@click.option(
    "--file",
    "ndjson_file",
    type=click.Path(dir_okay=False),
    help="import this NDJSON file (e.g. from `predwatch kibana export`) instead",
)
@_max_option
@credential_options("API key, as for Elasticsearch")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@_one_line_errors
def setup_kibana(
    url: str,
    space: str,
    model: str | None,
    baseline_path: str | None,
    ndjson_file: str | None,
    max_features: int,
    api_key: str | None,
    username: str | None,
    password: str | None,
    ca_cert: str | None,
    as_json: bool,
) -> None:
    """Import a model's data views, visualizations, searches and dashboards into Kibana.

    Objects keep stable ids, so running it again updates them in place.

    \b
    Example:
      predwatch setup kibana --url http://localhost:5601 --model credit \\
          --baseline baseline.json
      predwatch setup kibana --url https://kibana:5601 --space ml --file credit.ndjson \\
          --username elastic --password ... --ca-cert ca.pem
    """
    if not url.startswith(("http://", "https://")):
        raise KibanaError(f"--url must start with http:// or https://, got {url!r}")
    cfg = KibanaConfig(
        url=url,
        api_key=api_key,
        username=username,
        password=password,
        ca_cert=ca_cert,
        space=space,
    )
    cfg.validate()
    if ndjson_file:
        objects = ndjson.read(ndjson_file)
    elif model:
        base_path = urlsplit(url).path.rstrip("/")
        objects, _ = _generate(model, baseline_path, space, base_path, max_features)
    else:
        raise KibanaError("give --model (and --baseline) to generate the objects, or --file")
    result = import_objects(cfg, objects)
    dashboards = _dashboards(model, space, "", url) if model and not ndjson_file else {}
    if as_json:
        echo_json(
            {
                "kibana": url,
                "space": space,
                "imported": result.count,
                "created": result.created,
                "updated": result.updated,
                "new_ids": result.new_ids,
                "dashboards": dashboards,
            }
        )
        return
    click.echo(result.summary(url, space))
    for which, link in dashboards.items():
        click.echo(f"  {which:<12} {link}")
    if result.new_ids:
        click.echo(
            f"warning: Kibana gave {len(result.new_ids)} object(s) new ids (they exist in "
            "another space); the links between the dashboards may not work — import with "
            "--space set to this space so the ids are made for it",
            err=True,
        )


@click.group("kibana", cls=PredwatchGroup)
def kibana() -> None:
    """Kibana saved objects of a model (data views, Lens, searches, dashboards).

    \b
    Example:
      predwatch kibana export --model credit --baseline baseline.json -o credit.ndjson
    """


@kibana.command("export")
@model_option()
@_baseline_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="NDJSON file to write ('-' for standard output)",
)
@_space_option
@click.option(
    "--base-path",
    default="",
    help="Kibana's server.basePath, for the links between dashboards (e.g. /kibana)",
)
@_max_option
@click.option("--json", "as_json", is_flag=True, help="print a summary as JSON")
@_one_line_errors
def export(
    model: str | None,
    baseline_path: str | None,
    output: str,
    space: str,
    base_path: str,
    max_features: int,
    as_json: bool,
) -> None:
    """Write a model's saved objects as NDJSON, for Stack Management > Saved objects > Import.

    \b
    Example:
      predwatch kibana export --model credit --baseline baseline.json -o credit.ndjson
      curl -X POST localhost:5601/api/saved_objects/_import?overwrite=true \\
          -H 'kbn-xsrf: true' --form file=@credit.ndjson
    """
    if not model:
        raise KibanaError("--model is required")
    objects, _ = _generate(model, baseline_path, space, base_path, max_features)
    if output == "-":
        sys.stdout.write(ndjson.dumps(objects))
        return
    path = ndjson.write(Path(output), objects)
    counts = Counter(o["type"] for o in objects)
    if as_json:
        echo_json({"file": str(path), "objects": len(objects), "by_type": dict(counts)})
        return
    parts = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    click.echo(f"wrote {len(objects)} saved objects ({parts}) to {path}")

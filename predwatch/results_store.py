"""Writers of result documents (drift runs, quality metrics, outcomes, baselines): create the
index with its kind's mapping when it is missing, then bulk-write. Used by jobs at run time,
so it imports no set-up code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, AuthorizationException, Elasticsearch

from predwatch import es as es_mod
from predwatch import templates as t
from predwatch.config import ESConfig
from predwatch.errors import PredwatchError


def ensure_index(es: Elasticsearch, cfg: ESConfig, index: str, kind: str) -> None:
    """Create `index` with the mapping of its `kind` (drift, outcomes, baselines...) unless it
    exists. Writers call this so their documents are typed right even where `predwatch
    setup` never ran (an auto-created index would map everything dynamically); where the
    index templates exist they merge in as usual."""
    from predwatch import mappings

    if es_mod.call(cfg, lambda: es.indices.exists(index=index)):
        return
    # Settings given here would win over the templates' (and over predwatch@custom's
    # shards and replicas): give them only where set-up has not installed the template.
    try:
        templated = bool(es.indices.exists_index_template(name=f"predwatch-{kind}"))
    except AuthorizationException:  # a writer may not read templates: the old way
        templated = False
    except (ApiError, TransportError) as exc:
        raise es_mod.explain(exc, cfg) from None
    settings = None if templated else t.settings_component()["template"]["settings"]
    es_mod.call(
        cfg,
        lambda: es.options(ignore_status=400).indices.create(  # 400: created meanwhile
            index=index,
            mappings=mappings.OTHER_MAPPINGS[kind](),
            settings=settings,
        ),
    )


def index_documents(
    es: Elasticsearch,
    cfg: ESConfig,
    index: str,
    kind: str,
    docs: Iterable[dict[str, Any]],
    id_prefix: str,
    what: str,
) -> int:
    """Bulk-write `docs` (ids `<id_prefix><n>`) into `index` of `kind`, refreshed; returns
    the number written. Any refused document is an error naming `what` was stored."""
    from elasticsearch import helpers  # imports the async helpers too: only when storing

    ensure_index(es, cfg, index, kind)
    actions = [
        {"_index": index, "_id": f"{id_prefix}{i}", "_source": doc} for i, doc in enumerate(docs)
    ]
    ok, errors = es_mod.call(
        cfg,
        lambda: helpers.bulk(es, actions, refresh=True, raise_on_error=False, stats_only=False),
    )
    if isinstance(errors, list) and errors:
        raise PredwatchError(
            f"storing the {what} in {index} failed for {len(errors)} document(s): "
            f"{str(errors[0])[:300]}"
        )
    return int(ok)

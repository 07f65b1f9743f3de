"""Package code names document fields through `predwatch.schema`, never as its own literals."""

from __future__ import annotations

import ast
from pathlib import Path

from predwatch import schema

ROOT = Path(__file__).resolve().parents[3]
# Every module of the package except the schema module itself.
CHECKED = [
    p
    for folder in ("predwatch", "shipper", "analyzers")
    for p in sorted((ROOT / folder).rglob("*.py"))
    if p != ROOT / "predwatch" / "schema.py"
]
FIELDS = {
    v
    for k, v in vars(schema).items()
    if k.isupper() and isinstance(v, str) and ("." in v or v.startswith("@"))
}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            out.add(id(body[0].value))
    return out


def field_literals(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line value` of every string literal in `path` that is a schema field name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [
        f"{path.relative_to(root)}:{node.lineno} {node.value}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in FIELDS and id(node) not in docs
    ]


class TestSchemaFields:
    def test_no_field_name_literals(self) -> None:
        """No module of the package spells a schema field name itself."""
        found = [hit for path in CHECKED for hit in field_literals(path)]
        assert found == []

    def test_the_check_sees_a_literal(self, tmp_path: Path) -> None:
        """The scan reports a constant that re-declares a schema field, not a docstring."""
        fake = tmp_path / "m.py"
        value = schema.PREDICTION_VALUE
        fake.write_text(f'"""{schema.MODEL_NAME}"""\n\nPREDICTION_VALUE = "{value}"\n')
        assert field_literals(fake, tmp_path) == [f"m.py:3 {value}"]

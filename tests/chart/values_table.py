"""The values table of charts/cloudsms/README.md, generated from
values.schema.json (descriptions, types) and values.yaml (defaults).

    python tests/chart/values_table.py          # print the table
    python tests/chart/values_table.py --write  # rewrite it in the README
"""

from __future__ import annotations

import json
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "cloudsms"
README = CHART / "README.md"
START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"


UNSET = object()  # in the schema, not in values.yaml (`enabled`, set by an umbrella chart)


def leaves(schema: dict, values, prefix: str = ""):
    """(path, type, default, description) for every value, depth first in
    the order of values.schema.json. Objects whose schema lists properties
    are walked; free-form objects and lists are one row."""
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        default = values.get(key, UNSET) if isinstance(values, dict) else UNSET
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaves(sub, default if isinstance(default, dict) else {}, path + ".")
        else:
            yield path, sub.get("type", type(sub.get("const")).__name__), default, sub.get("description", "")


def _fmt(value) -> str:
    if value is UNSET:
        return "unset"
    text = json.dumps(value)
    return "`" + text.replace("|", "\\|") + "`"


def _type(t) -> str:
    if isinstance(t, list):
        return " or ".join(t)
    return {"bool": "boolean"}.get(t, t)


def table() -> str:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    rows = ["| value | type | default | description |", "|---|---|---|---|"]
    for path, typ, default, desc in leaves(schema, values):
        desc = desc.replace("|", "\\|")
        rows.append(f"| `{path}` | {_type(typ)} | {_fmt(default)} | {desc} |")
    return "\n".join(rows) + "\n"


def rendered_readme() -> str:
    text = README.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}{END}{tail}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        README.write_text(rendered_readme())
    else:
        sys.stdout.write(table())

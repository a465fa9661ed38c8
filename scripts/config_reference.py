"""Write docs/configuration.md, the reference of every config group, from the schemas.

    python scripts/config_reference.py            # rewrite docs/configuration.md
    python scripts/config_reference.py --check    # exit 1 when the committed page is stale

Keys and types come from the dataclass schemas registered in Hydra's ConfigStore
(``collectsim.schemas.GROUP_SCHEMAS``); defaults from the composed default config;
the description of a key from the comment beside it in the group's default option
(``conf/<group>/default.yaml`` or the option the default config picks). Plug-in groups
(``behaviour``, ``policy``) list their options, their ``_target_`` and their keys.
tests/test_docs.py fails when the committed page differs from what this prints.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
_COMMENT = re.compile(r"^(?P<indent>\s*)(?:- )?(?P<key>[A-Za-z_][\w]*):(?P<rest>.*)$")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        inner = " or ".join(_type_name(a) for a in args)
        return inner + " (optional)" if len(args) < len(typing.get_args(tp)) else inner
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "mapping"
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def _comments(text: str) -> dict[str, str]:
    """Dotted key -> the comment on its line (or on the lines just above it) in a YAML file."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        if not stripped:
            pending = []
            continue
        m = _COMMENT.match(line)
        if not m:
            pending = []
            continue
        indent = len(m.group("indent")) + (2 if line.lstrip().startswith("- ") else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = ".".join([*(k for _, k in stack), m.group("key")])
        rest = m.group("rest")
        comment = rest.split(" #", 1)[1].strip() if " #" in rest else ""
        text_ = comment or " ".join(pending)
        if text_ and key not in out:
            out[key] = text_
        pending = []
        if rest.strip() == "" or rest.strip().startswith("#"):
            stack.append((indent, m.group("key")))
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items() if x is not None) + "}"
    if isinstance(v, list):
        return f"list of {len(v)}" if v and isinstance(v[0], dict) else "[" + ", ".join(_fmt(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def _rows(cls: type, value: Any, prefix: str, comments: dict[str, str], plain_prefix: str) -> list[list[str]]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        plain = f"{plain_prefix}{f.name}"
        v = value.get(f.name) if isinstance(value, dict) else None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        nested = (
            tp
            if dataclasses.is_dataclass(tp)
            else (inner[0] if len(inner) == 1 and dataclasses.is_dataclass(inner[0]) else None)
        )
        if nested is not None and nested.__name__ != "Dist" and isinstance(v, dict):
            rows.append([f"`{key}`", _type_name(tp), "", comments.get(plain, "")])
            rows += _rows(nested, v, key + ".", comments, plain + ".")
            continue
        if typing.get_origin(tp) is list and typing.get_args(tp) and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            item = typing.get_args(tp)[0]
            rows.append([f"`{key}`", _type_name(tp), _fmt(v), comments.get(plain, "")])
            first = v[0] if isinstance(v, list) and v else {}
            rows += _rows(item, first, key + "[i].", comments, plain + ".")
            continue
        rows.append(
            [
                f"`{key}`",
                _type_name(tp),
                f"`{_fmt(v)}`" if v is not None or f.default is None else "",
                comments.get(plain, ""),
            ]
        )
    return rows


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| key | type | default | what it is |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return lines


def group_schemas() -> dict[str, type]:
    """Config group -> schema dataclass."""
    from collectsim.schemas import GROUP_SCHEMAS

    return dict(GROUP_SCHEMAS)


def _flat(data: Any, prefix: str = "") -> list[str]:
    if not isinstance(data, dict):
        return [f"`{prefix[:-1]}={_fmt(data)}`"]
    return [item for k, v in data.items() for item in _flat(v, f"{prefix}{k}.")]


def _bundles(folder: Path, opts: list[str]) -> list[str]:
    """The ``assumptions`` group: bundles of overrides at the root (``@package _global_``)."""
    lines = [
        "Bundles of assumed values: each option overrides the keys below at the root of the config",
        "(`# @package _global_`); `_best` puts every assumed effect of a lever at the end of its",
        "documented range that favours the lever, `_worst` at the other end.",
        "",
        "| option | sets |",
        "| --- | --- |",
    ]
    import yaml

    for o in opts:
        data = yaml.safe_load((folder / f"{o}.yaml").read_text(encoding="utf-8")) or {}
        lines.append(f"| `{o}` | {', '.join(_flat(data)) or 'nothing'} |")
    lines.append("")
    return lines


def render() -> str:
    """The Markdown of docs/configuration.md."""
    import yaml
    from omegaconf import OmegaConf

    from collectsim.config import compose, config_dir

    GROUP_SCHEMAS = group_schemas()

    root = Path(config_dir())
    cfg = OmegaConf.to_container(compose([]), resolve=False)
    assert isinstance(cfg, dict)
    top = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    choices = {next(iter(d)): d[next(iter(d))] for d in top["defaults"] if isinstance(d, dict)}
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/config_reference.py from the config schemas and conf/; do not edit by hand.",
        "     tests/test_docs.py fails when this page and the generator disagree. -->",
        "",
        "Every group below is a folder under `conf/`; pick an option with `group=option` and set any key",
        "with `group.key=value` (for example `collectsim policy=soft_first collectors.size=30`). Keys are",
        "checked against the group's schema when the config is composed, so a typo or a wrong type stops",
        "the run with the key's name. Defaults are those of the option the default config picks.",
        "Distributions (type `Dist`) are written `{kind: beta, a: 2, b: 3}`; see",
        "[portfolio.md](portfolio.md) for their kinds. Where the default values come from is in",
        "[model.md](model.md) and [references.md](references.md).",
        "",
        "Top-level keys of `conf/config.yaml`:",
        "",
    ]
    comments = _comments((root / "config.yaml").read_text(encoding="utf-8"))
    lines += ["| key | default | what it is |", "| --- | --- | --- |"]
    for k, v in top.items():
        if k in ("defaults", "hydra"):
            continue
        lines.append(f"| `{k}` | `{_fmt(v)}` | {comments.get(k, '')} |")
    lines.append("")
    groups = [g for g in choices if (root / g).is_dir() and g not in ("experiment", "hydra")]
    for group in groups:
        opts = sorted(p.stem for p in (root / group).glob("*.yaml") if p.stem != "schema")
        chosen = choices[group]
        lines += [
            f"## `{group}`",
            "",
            f"Options: {', '.join(f'`{o}`' + (' (default)' if o == chosen else '') for o in opts)}.",
            "",
        ]
        text = (root / group / f"{chosen}.yaml").read_text(encoding="utf-8")
        comments = _comments(text)
        if group in GROUP_SCHEMAS:
            cls = GROUP_SCHEMAS[group]
            lines += [f"Schema: `collectsim.scenario.{cls.__name__}`.", ""]
            lines += _table(_rows(cls, cfg[group], f"{group}.", comments, ""))
            lines.append("")
            continue
        if group == "assumptions":
            lines += _bundles(root / group, opts)
            continue
        guide = {"behaviour": "behaviour.md", "policy": "policies.md"}.get(group)
        lines += [
            "A plug-in group: each option names its class with `_target_` and passes the other keys to it"
            + (f" (see [{guide}]({guide}))." if guide else "."),
            "",
            "| option | `_target_` | keys |",
            "| --- | --- | --- |",
        ]
        for o in opts:
            data = yaml.safe_load((root / group / f"{o}.yaml").read_text(encoding="utf-8")) or {}
            keys = ", ".join(f"`{k}`" for k in data if k not in ("_target_", "defaults"))
            lines.append(f"| `{o}` | `{data.get('_target_', '')}` | {keys} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("docs/configuration.md is current" if same else "docs/configuration.md is stale: run make docs-config")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

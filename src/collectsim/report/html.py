"""The report as one self-contained web page: ``report.html`` beside ``report.md``, with
every figure embedded as a base64 PNG, so it can be mailed or opened without the folder.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from markdown_it import MarkdownIt

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #1d1d1f; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.55em; }
th { background: #f2f2f2; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f2f2f2; padding: 0 0.25em; border-radius: 3px; }
img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
"""
_IMG = re.compile(r'<img src="([^"]+\.png)"')


def markdown_to_html(text: str, base_dir: Path, title: str = "collectsim report") -> str:
    """A complete HTML page from the report's Markdown; ``<img>`` files relative to
    ``base_dir`` are inlined as ``data:`` URIs (a missing file is left as a link)."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)

    def inline(m: re.Match[str]) -> str:
        path = base_dir / html.unescape(m.group(1))
        if not path.is_file():
            return m.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}"'

    body = _IMG.sub(inline, body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def write_html(report_md: str | Path) -> Path:
    """Write ``report.html`` beside ``report_md`` and return its path."""
    md = Path(report_md)
    text = md.read_text(encoding="utf-8")
    first = text.splitlines()[0].lstrip("# ").strip() if text else "collectsim report"
    out = md.with_suffix(".html")
    out.write_text(markdown_to_html(text, md.parent, first), encoding="utf-8")
    return out


__all__ = ["markdown_to_html", "write_html"]

"""Write a checkpoint's results as JSON and as a minimal offline HTML page.

GX Data Docs load CSS and JS from CDNs and render unstyled offline (stack notes), so
the gate writes its own page: inline CSS, no scripts, one table per frame.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expectations.checkpoint import GateResult

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#176317}.fail{color:#a11}code{font-size:90%}
"""


def write_results(result: GateResult, folder: Path) -> None:
    """``results.json`` and ``index.html`` in ``folder``; sets the result's paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "results.json", folder / "index.html"
    result.json_path, result.html_path = str(json_path), str(html_path)
    json_path.write_text(json.dumps(result.to_dict(), indent=1, default=str))
    html_path.write_text(render_html(result))


def render_html(result: GateResult) -> str:
    esc = html.escape
    verdict = "PASSED" if result.passed else "FAILED"
    rows = "".join(
        f"<tr><td>{esc(t)}</td><td>{info['rows']}</td><td>{info['checks']}</td>"
        f"<td class={'fail' if info['failed'] else 'pass'}>{info['failed']}</td></tr>"
        for t, info in result.tables.items()
    )
    fails = "".join(
        f"<tr><td>{esc(f.table)}</td><td><code>{esc(f.expectation)}</code></td>"
        f"<td><code>{esc(json.dumps(f.kwargs, default=str))}</code></td>"
        f"<td>{'' if f.unexpected_count is None else f.unexpected_count}</td>"
        f"<td>{esc(str(f.observed)) if f.observed is not None else ''}</td>"
        f"<td><code>{esc(', '.join(f.sample_ids))}</code></td></tr>"
        for f in result.failures
    )
    fail_table = (
        "<h2>Failed expectations</h2><table><tr><th>table</th><th>expectation</th><th>arguments</th>"
        f"<th>rows failing</th><th>observed</th><th>sample pair_ids</th></tr>{fails}</table>"
        if result.failures
        else "<p class=pass>Every expectation passed.</p>"
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>Quality gate {esc(result.name)}</title>"
        f"<style>{STYLE}</style></head><body><h1>Quality gate {esc(result.name)}: "
        f"<span class={'pass' if result.passed else 'fail'}>{verdict}</span></h1><p>run at {esc(result.run_at)}</p>"
        f"<h2>Frames</h2><table><tr><th>frame</th><th>rows</th><th>checks</th><th>failed</th></tr>{rows}</table>"
        f"{fail_table}</body></html>"
    )

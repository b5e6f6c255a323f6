"""Render a round's report: one self-contained HTML file (inline CSS and SVG, no scripts, no CDN).

Input is a plain dict (see :func:`render_report`), so the page can be built from the lake
(:mod:`pipelines.report.collect`) or from any other source in tests and notebooks.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from pipelines.report import plots

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
section{margin:2em 0}figure{margin:0}figure svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.pass{color:#176317}.fail{color:#a11}
"""


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(title: str, svg: str, note: str = "") -> str:
    extra = f"<p>{note}</p>" if note else ""
    return f"<section><h2>{html.escape(title)}</h2><figure>{svg}</figure>{extra}</section>"


def _links(data: dict[str, Any], out_dir: Path | None) -> str:
    items = []
    for label, key in (
        ("Great Expectations results", "gx_html"),
        ("Great Expectations JSON", "gx_json"),
        ("dbt docs", "dbt_docs"),
    ):
        target = data.get("links", {}).get(key)
        if not target:
            items.append(f"<li>{label}: not available for this round</li>")
            continue
        href = Path(target).as_uri() if Path(target).is_absolute() else target
        items.append(f'<li><a href="{html.escape(href)}">{label}</a> <code>{html.escape(str(target))}</code></li>')
    return "<section><h2>Links</h2><ul>" + "".join(items) + "</ul></section>"


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))


def _source(t: dict[str, Any], round: int) -> str:
    name = f"{t['source_kind']} {t['source_id']}" + (f" ({t['role']})" if t.get("role") else "")
    measured = t.get("measured_in_round")
    return name if measured in (None, round) else f"{name}, measured in round {measured}"


def _changed(data: dict[str, Any]) -> str:
    """The opening: what the round changed, on whose evidence, and whether any source was trusted."""
    changes = data.get("changes") or []
    if "deciding" in data:  # the sources the round voted with, wherever measured
        trusted = data["deciding"]
    else:  # a report saved before the field existed: this round's own measurements
        trust = [t for t in data.get("trust") or [] if t["round"] == data["round"]]
        trusted = [t | {"measured_in_round": t["round"]} for t in trust if t["is_trusted"]]
    by = {d: sum(c["n"] for c in changes if c["decision"] == d) for d in ("keep", "drop", "flip")}
    total = sum(by.values())
    if not changes:
        head = "<p>The round's decisions are not available (its dbt build is not the last one).</p>"
    else:
        head = (f"<p><b>{by['keep']:,}</b> kept, <b>{by['drop']:,}</b> dropped, <b>{by['flip']:,}</b> flipped"
                f" of {total:,} pairs.</p>")  # fmt: skip
    if trusted:
        who = ", ".join(html.escape(_source(t, data["round"])) for t in trusted)
        verdict = f"<p class=pass>Trusted sources this round: {who}.</p>"
    else:
        verdict = (
            "<p class=fail><b>No label source was trusted this round</b>: no reward model, judge or pre-check "
            "cleared the trust rule on gold, so none of them kept, dropped or flipped a pair. Pairs without a "
            "human verdict or a pre-filter reason keep their original label, unverified.</p>"
        )
    decided = [c for c in changes if c["decision_rule"] not in ("filter", "uncontradicted", "no_trusted_gold_rm")]
    table = _table(decided, ["decision", "decision_rule", "provenance", "n"])
    return (
        "<section><h2>What this round changed</h2>" + head + verdict
        + "<p>Decisions by rule and evidence (pre-filters and unverified keeps left out):</p>" + table + "</section>"
    )  # fmt: skip


def _trust_table(data: dict[str, Any]) -> str:
    rows = [{k: _fmt(v) for k, v in t.items()} for t in data.get("trust") or []]
    cols = ["round", "source_kind", "source_id", "role", "n", "accuracy", "ci_low", "ci_high", "first_shown_share",
            "both_orders_consistency", "accuracy_longer_rejected", "longer_wins_agreement", "label_basis",
            "is_trusted"]  # fmt: skip
    rule = html.escape(data.get("trust_rule") or "")
    return (f"<section><h2>Trust of every label source</h2><p>Rule: {rule}. Each source is measured only on "
            f"gold pairs it never trained on and was not selected on.</p>{_table(rows, cols)}</section>")  # fmt: skip


def _benchmarks(data: dict[str, Any]) -> str:
    """Benchmark accuracy per round and RM role beside out-of-sample gold accuracy, and the bias probes."""
    rows = data.get("benchmarks") or []
    svg = plots.benchmark_accuracy_by_round(rows, data.get("rm_accuracy") or [])
    cols = ["round", "role", "run_id", "bench", "n", "accuracy", "length_bias_accuracy", "longer_wins_agreement"]
    note = (
        "<p>Each RM in the role it played that round, on the round's benchmark files (<code>rm_eval</code>, "
        "all categories; <code>--eval-benchmarks</code>), beside its accuracy on gold it never trained or was "
        "selected on (<code>source_trust</code>). Bias probes: <code>length_bias_accuracy</code> is the accuracy "
        "on the pairs whose rejected response is the longer one; <code>longer_wins_agreement</code> is how often "
        "the RM prefers the longer of two responses. <code>n</code>: pairs scored.</p>"
    )
    table = _table([{k: _fmt(r.get(k)) for k in cols} for r in rows], cols)
    title = "RM benchmark accuracy per round, beside out-of-sample gold accuracy"
    return f"<section><h2>{title}</h2><figure>{svg}</figure>{note}{table}</section>"


def render_report(data: dict[str, Any], out_dir: Path | None = None) -> str:
    """The HTML of a round report. Keys (all optional but ``round``):

    funnel [{reason, n}], rm_accuracy [{round, accuracy, ci_low, ci_high, role}],
    benchmarks [{round, role, run_id, bench, n, accuracy, length_bias_accuracy, longer_wins_agreement}],
    margins {kept: [..], dropped: [..]},
    agreement [{category, agreement, n}], length {curated: [log-ratios], raw: [..]},
    diff {entered: {reason: n}, left: {reason: n}}, gate {passed, failures: [..]}, steps [round_steps rows],
    links {gx_html, gx_json, dbt_docs}, snapshot {table, tag, version, rows}.
    """
    rnd = data["round"]
    gate = data.get("gate") or {}
    gate_line = (
        "gate: not run"
        if not gate
        else f"gate: <span class={'pass' if gate.get('passed') else 'fail'}>"
        f"{'passed' if gate.get('passed') else 'FAILED'}</span>"
    )
    snap = data.get("snapshot") or {}
    snap_line = "not published"
    if snap:
        ref = html.escape(f"{snap.get('table')}@{snap.get('tag')}")
        snap_line = f"snapshot <code>{ref}</code> ({snap.get('rows', 0):,} pairs)"
    margins, length, diff = data.get("margins") or {}, data.get("length") or {}, data.get("diff") or {}
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>prefhouse round {rnd}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Curation round {rnd}</h1><p class=sub>stage {data.get('stage', '?')} · {gate_line} · {snap_line}"
        f" · generated {html.escape(str(data.get('generated_at', '')))}</p>",
        _changed(data),
        _trust_table(data),
        _section("Funnel by reason", plots.funnel(data.get("funnel") or [])),
        _section(
            "RM gold accuracy per round (out of sample, 95% intervals)",
            plots.accuracy_by_round(data.get("rm_accuracy") or []),
        ),
        _benchmarks(data),
        _section(
            "Margins of kept vs dropped pairs",
            plots.margin_histograms(margins.get("kept", []), margins.get("dropped", [])),
        ),
        _section("Agreement per task category", plots.agreement_by_category(data.get("agreement") or [])),
        _section(
            "Length bias: curated vs raw pool", plots.length_bias(length.get("curated", []), length.get("raw", []))
        ),
        _section("Round diff", plots.round_diff(diff.get("entered", {}), diff.get("left", {}))),
        "<section><h2>Quality gate failures</h2>"
        + _table(gate.get("failures") or [], ["table", "expectation", "unexpected_count", "observed", "sample_ids"])
        + "</section>",
        "<section><h2>Steps</h2>"
        + _table(data.get("steps") or [], ["stage", "step", "status", "counts", "message", "started_at", "finished_at"])
        + "</section>",
        _links(data, out_dir),
        "</body></html>",
    ]
    return "".join(parts)


def write_report(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data, path.parent), encoding="utf-8")
    return path

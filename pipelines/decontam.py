"""Why a pair was flagged as contaminated: the words of the explanation, from what dbt decided.

The rule itself lives in one place, ``dbt_project/models/intermediate/int_prompts_decontaminated.sql``;
this module only reads its result (``curated_pairs`` of the last build) and the benchmark prompt
that matched (the lake's ``benchmark_prompts``) and puts them in a sentence.
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from lake import Lake

RULES = {
    "ngram": "the prompt and the benchmark prompt share {n} consecutive words",
    "exact": "the prompt is shorter than {n} words and equals the benchmark prompt word for word",
}


def _quote(text: str | None, limit: int = 300) -> str:
    if text is None:
        return "(not found)"
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _benchmark_prompt(lake: Lake, benchmark: str, prompt_id: str | None) -> dict[str, Any] | None:
    """The matched ``benchmark_prompts`` row (prompt, source_file, source_row), by its key."""
    if prompt_id is None or not lake.exists("benchmark_prompts"):
        return None
    rows = lake.dataset("benchmark_prompts").to_table(
        columns=["prompt", "source_file", "source_row"],
        filter=(pc.field("benchmark") == benchmark) & (pc.field("prompt_id") == prompt_id),
    )
    return rows.to_pylist()[0] if rows.num_rows else None


def _first_prompt(lake: Lake, pair_id: str) -> str | None:
    found = lake.dataset("pairs").to_table(columns=["conversation"], filter=pc.field("pair_id") == pair_id)
    rows = found.to_pylist()
    turns = rows[0]["conversation"] if rows else []
    return next((t["content"] for t in turns if t["role"] == "user"), None)


def ngram_size(lake: Lake) -> int:
    """The n of the last build (its vars), else the project default."""
    from lake.builds import last_build

    build = last_build(lake) or {}
    return int((build.get("vars") or {}).get("ngram_size", 13))


def explain(lake: Lake, row: dict[str, Any]) -> str:
    """A few lines on one ``curated_pairs`` row (plus ``n_hits`` / ``n_benchmarks``)."""
    prompt = _first_prompt(lake, row["pair_id"])
    head = f"pair {row['pair_id']} (round {row['round']}), first prompt {_quote(prompt)}"
    if not row["is_contaminated"]:
        return f"{head}\n  not contaminated: no benchmark prompt shares its words by either rule"
    rule = RULES.get(row["contamination_rule"], row["contamination_rule"]).format(n=ngram_size(lake))
    item = row["contaminated_item"] or "(no item id: a seed prompt or one ingested before items were recorded)"
    bench = _benchmark_prompt(lake, row["contaminated_by"], row.get("contaminated_prompt_id"))
    where = f" ({bench['source_file']}, row {bench['source_row']})" if bench else ""
    lines = [
        f"{head}\n  contaminated by benchmark {row['contaminated_by']!r}, item {item}{where}",
        f"  rule {row['contamination_rule']}: {rule}",
        f"  shared words (normalised): {_quote(row['contamination_match'])}",
        f"  benchmark prompt: {_quote(bench['prompt'] if bench else None)}",
    ]
    if (row.get("n_hits") or 0) > 1:
        lines.append(f"  {row['n_hits']} hits in all, in {row['n_benchmarks']} benchmark(s); the first is shown")
    return "\n".join(lines)

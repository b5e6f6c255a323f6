"""The curation rules written once, in ``dbt_project/macros/rules.sql``, for Python callers.

dbt models call the macros there; this module renders the same macro text with Jinja and
runs it in DuckDB, so the gold verdict and the trust rule cannot drift between the Python
stages (training, retrieval, judges) and the dbt marts. The rule's thresholds are the dbt
vars of ``dbt_project/dbt_project.yml``: one default per setting, read from there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from lake.sql import sql_string

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
MACROS = PROJECT_DIR / "macros" / "rules.sql"


@functools.cache
def dbt_vars() -> dict[str, Any]:
    """The default vars of the dbt project (``dbt_project.yml``)."""
    import yaml

    return dict(yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"])


def render(macro: str, **kwargs: Any) -> str:
    """The SQL one macro of ``rules.sql`` renders to with these arguments."""
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    args = ", ".join(f"{k}={k}" for k in kwargs)
    return env.from_string(MACROS.read_text() + f"{{{{ {macro}({args}) }}}}").render(**kwargs).strip()


@dataclass(frozen=True)
class TrustRule:
    """When a measured label source may keep, drop or flip a pair (dbt vars ``trust_*``)."""

    min_lower: float
    min_n: int
    max_position_bias: float

    @classmethod
    def default(cls, **overrides: Any) -> TrustRule:
        v = dbt_vars()
        base = {
            "min_lower": float(v["trust_min_lower"]),
            "min_n": int(v["trust_min_n"]),
            "max_position_bias": float(v["trust_max_position_bias"]),
        }
        return cls(**{**base, **{k: val for k, val in overrides.items() if val is not None}})

    def as_dbt_vars(self) -> dict[str, Any]:
        return {
            "trust_min_lower": self.min_lower,
            "trust_min_n": self.min_n,
            "trust_max_position_bias": self.max_position_bias,
        }

    def sql(self) -> str:
        return render(
            "is_trusted_expr", min_lower=self.min_lower, min_n=self.min_n, max_position_bias=self.max_position_bias
        )

    def apply(self, rows: pa.Table) -> list[bool]:
        """``is_trusted`` of each ``source_trust`` row, by the macro's expression."""
        import duckdb

        if rows.num_rows == 0:
            return []
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 1})
        try:
            con.register("t", rows)
            return [bool(r[0]) for r in con.sql(f"select coalesce({self.sql()}, false) from t").fetchall()]
        finally:
            con.close()

    def describe(self) -> str:
        return (
            f"lower 95% bound of gold accuracy >= {self.min_lower:g} on >= {self.min_n} gold pairs"
            f" (judges: first-shown share within 0.5 ± {self.max_position_bias:g})"
        )


def gold_sql(labels: str, round: int | None, excluded_annotators: list[str] | None = None) -> str:
    """The gold-verdict query over the relation named ``labels`` (``human_labels`` rows)."""
    names = ", ".join(sql_string(a) for a in sorted(excluded_annotators or []))
    return render(
        "gold_verdicts_sql",
        labels=labels,
        round=2**31 - 1 if round is None else int(round),
        min_agreement=float(dbt_vars()["human_min_agreement"]),
        excluded_annotators_sql=f"select unnest([{names}]::varchar[])",
    )

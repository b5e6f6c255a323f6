"""Which reward model plays which role in a round, and which sources a round may trust.

The round's steps decide the roles (the silver RM it trained, the best RM it picked, the
gold RM it cross-fitted) and record them as ``source_trust`` rows; everything else reads
them from there: :func:`round_rm` here, and ``int_rm_runs_selected`` in dbt, with the same
rule (the row of that role with the greatest round up to N, newest measurement first).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from lake.rules import TrustRule


def trust_rows(lake: Lake, round: int | None = None) -> pa.Table:
    """``source_trust`` rows of exactly ``round`` (all rounds when None)."""
    filt = None if round is None else pc.field("round") == round
    return lake.dataset("source_trust").to_table(filter=filt)


def latest_trust_rows(lake: Lake, round: int) -> pa.Table:
    """Each source's latest measurement up to ``round`` (per kind, id and role, newest first): the rows
    ``int_sources_trusted`` votes with, so a source measured in an earlier round and not since counts."""
    from lake.sql import query

    return query(
        lake,
        f"""select * from source_trust where round <= {int(round)}
            qualify row_number() over (
                partition by source_kind, source_id, coalesce(role, '') order by round desc, measured_at desc
            ) = 1
            order by source_kind, source_id, role""",
    )


def voting_rows(lake: Lake, round: int) -> pa.Table:
    """:func:`latest_trust_rows` less the reward models that play no role in ``round`` (a model votes
    only in the role the round gave it: ``int_rm_runs_selected``)."""
    rows = latest_trust_rows(lake, round)
    kinds, ids, role = rows.column("source_kind").to_pylist(), rows.column("source_id").to_pylist(), rows["role"]
    players = {r: round_rm(lake, round, (r,)) for r in set(role.to_pylist()) if r}
    keep = [
        k != "rm" or (r is not None and players.get(r) == i)
        for k, i, r in zip(kinds, ids, role.to_pylist(), strict=True)
    ]
    return rows.filter(pa.array(keep, pa.bool_()))


def round_rm(lake: Lake, round: int | None, roles: tuple[str, ...]) -> str | None:
    """The run id that plays one of ``roles`` in ``round`` (its latest measured round up to N)."""
    t = lake.dataset("source_trust").to_table(
        columns=["round", "source_id", "role", "measured_at"],
        filter=(pc.field("source_kind") == "rm") & pc.field("role").isin(list(roles)),
    )
    rows = [r for r in t.to_pylist() if round is None or r["round"] <= round]
    if not rows:
        return None
    return max(rows, key=lambda r: (r["round"], r["measured_at"], r["source_id"]))["source_id"]


def with_trust(rows: pa.Table, rule: TrustRule | None = None) -> list[dict[str, Any]]:
    """The rows as dicts with ``is_trusted`` by the rule (the same SQL the dbt marts apply)."""
    rule = rule or TrustRule.default()
    flags = rule.apply(rows)
    return [{**r, "is_trusted": ok} for r, ok in zip(rows.to_pylist(), flags, strict=True)]


def is_trusted(lake: Lake, round: int, kind: str, source_id: str, rule: TrustRule | None = None) -> bool:
    t = trust_rows(lake, round).filter((pc.field("source_kind") == kind) & (pc.field("source_id") == source_id))
    return any(r["is_trusted"] for r in with_trust(t, rule))


def why(row: dict[str, Any], rule: TrustRule) -> str:
    """One line on a source's trust, for step messages and the report."""
    name = f"{row['source_kind']} {row['source_id']}" + (f" ({row['role']})" if row.get("role") else "")
    if not row["n"]:
        return f"{name}: not measured (no gold pair it did not train on or was selected on)"
    ci = f"accuracy {row['accuracy']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] on {row['n']} gold pairs"
    if row["is_trusted"]:
        return f"{name}: trusted, {ci}"
    reasons = []
    if row["n"] < rule.min_n:
        reasons.append(f"fewer than {rule.min_n} gold pairs")
    if row["ci_low"] is None or row["ci_low"] < rule.min_lower:
        reasons.append(f"lower bound below {rule.min_lower:g}")
    share = row.get("first_shown_share")
    if row["source_kind"] == "judge" and (share is None or abs(share - 0.5) > rule.max_position_bias):
        reasons.append(f"picks the first-shown side {share:.0%} of the time" if share is not None else "no valid vote")
    return f"{name}: NOT trusted ({'; '.join(reasons)}), {ci}"

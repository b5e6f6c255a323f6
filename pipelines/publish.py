"""Publish a curation round: the kept and the flipped pairs, as lake tables tagged ``round-N``.

Only a passing ``dbt build`` of that round (recorded by :mod:`pipelines.dbt_runner` in
``<lake>/_dbt/last_build.json``) can be published; anything else raises :class:`PublishError`
and writes nothing. The pairs' texts are joined from ``pairs`` at the very version the build
read, so the published rows match the decisions. ``curated`` and ``flipped`` are overwritten in
one lake transaction (each version holds exactly one round; older rounds stay readable by tag),
then both are tagged ``round-N``. Rows use the trainer layout of ``lake.schemas.CURATED``;
flipped rows have chosen and rejected swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from lake.builds import last_build
from lake.errors import LakeError
from lake.schemas import CURATED

if TYPE_CHECKING:
    from lake import Lake


class PublishError(LakeError):
    """A round that cannot be published; the message says what to run first."""


@dataclass
class PublishConfig:
    """Options of ``prefhouse publish``."""

    round: int = field(default=1, metadata={"help": "the round whose passing dbt build to publish"})


@dataclass(frozen=True)
class PublishReport:
    round: int
    n_pairs: int  # pairs decided this round (kept + flipped + dropped)
    n_kept: int
    n_flipped: int
    versions: dict[str, int]
    tag: str

    @property
    def kept_fraction(self) -> float | None:
        """Kept pairs over the pairs the round decided (None when it decided none)."""
        return self.n_kept / self.n_pairs if self.n_pairs else None

    @property
    def counts(self) -> dict[str, int]:
        return {"in": self.n_pairs, "kept": self.n_kept, "flipped": self.n_flipped}


_QUERY = """
select
    c.round::integer as round,
    c.pair_id,
    p.conversation,
    case when c.decision = 'flip' then p.rejected else p.chosen end as chosen,
    case when c.decision = 'flip' then p.chosen else p.rejected end as rejected,
    c.margin::float as margin,
    c.label_provenance,
    c.source,
    c.reasons
from dbt.main.curated_pairs as c
inner join pairs_at_build as p using (pair_id)
where c.decision = ? and c.round = ?
order by c.pair_id
"""


def _check_build(lake: Lake, round: int) -> dict:
    build = last_build(lake)
    fix = f"run `prefhouse dbt build --round {round}` and fix what it reports"
    if build is None:
        raise PublishError(f"no dbt build recorded for the lake at {lake.root}: {fix}")
    if build["round"] != round:
        raise PublishError(f"the last dbt build was for round {build['round']}, not round {round}: {fix}")
    if not build["success"]:
        failed = "; ".join(build.get("failures", [])[:3]) or "see dbt's log"
        raise PublishError(f"the last dbt build of round {round} failed ({failed}): nothing published; {fix}")
    if not Path(build["duckdb_path"]).exists():
        raise PublishError(f"the dbt database {build['duckdb_path']} is gone: {fix}")
    return build


def round_rows(lake: Lake, round: int, build: dict) -> tuple[dict[str, pa.Table], int]:
    """The kept and the flipped rows of ``round`` in the CURATED layout, and the pairs decided (reads only)."""
    import duckdb  # here, not at import: the CLI's parser imports this module for PublishConfig

    pairs = lake.dataset("pairs", build["versions"].get("pairs"))
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 2})
    try:
        con.execute(f"attach '{build['duckdb_path']}' as dbt (read_only)")
        con.register("pairs_at_build", pairs)
        out = {}
        for table, decision in (("curated", "keep"), ("flipped", "flip")):
            rows = con.execute(_QUERY, [decision, round]).to_arrow_table()
            out[table] = rows.cast(CURATED)
        (n_pairs,) = con.execute("select count(*) from dbt.main.curated_pairs where round = ?", [round]).fetchone()
        return out, int(n_pairs)
    finally:
        con.close()


def publishable(lake: Lake, round: int) -> tuple[dict[str, pa.Table], int]:
    """Exactly what :func:`publish` would write for ``round`` (kept, flipped; pairs decided), reading only."""
    return round_rows(lake, round, _check_build(lake, round))


def publish(lake: Lake, round: int) -> PublishReport:
    """Write round ``round``'s kept pairs to ``curated`` and flipped ones to ``flipped``, tag both."""
    tables, n_pairs = publishable(lake, round)
    tag = f"round-{round}"
    with lake.transaction(
        f"publish {tag}: {tables['curated'].num_rows} kept, {tables['flipped'].num_rows} flipped"
    ) as txn:
        versions = {name: txn.overwrite(name, rows) for name, rows in tables.items()}
    for name, version in versions.items():
        lake.tag(name, tag, version)
    return PublishReport(
        round=round,
        n_pairs=n_pairs,
        n_kept=tables["curated"].num_rows,
        n_flipped=tables["flipped"].num_rows,
        versions=versions,
        tag=tag,
    )

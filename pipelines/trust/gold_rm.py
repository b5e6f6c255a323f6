"""The gold RM of Stage 2: trained on every human-verified pair, its trust measured by cross-fitting.

``folds`` fold models, each trained on the other folds with the same recipe, score every gold
pair out of fold: that accuracy is the gold RM's trust row in ``source_trust``. The gold RM
itself then trains on all of gold with no checkpoint selection (there is no gold left to select
on), and its run folder keeps the out-of-fold p of each pair (``out_of_fold.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lake import Lake
from lake.reports import Counted
from rm.config import TrainConfig

MIN_GOLD = 8


class TooFewGold(ValueError):
    """Fewer gold pairs than a cross-fitted gold RM needs."""


@dataclass
class GoldRMReport(Counted):
    run_id: str
    run_dir: str
    gold_pairs: int = 0
    steps: int = 0
    folds: int = 0
    scored_out_of_fold: int = 0
    trust: dict[str, Any] = field(default_factory=dict)  # its source_trust row (out of fold)

    def message(self) -> str:
        t = self.trust
        return (
            f"out-of-fold accuracy {t['accuracy'] or 0:.3f} on {t['n']} gold pairs "
            f"[{t['ci_low'] or 0:.3f}, {t['ci_high'] or 0:.3f}]"
        )


def train_gold_rm(lake: Lake, round: int, config: TrainConfig, folds: int) -> GoldRMReport:
    """Cross-fit over gold (its trust, written to ``source_trust``), then train and register the gold RM."""
    from lake.labels import gold_verdicts
    from lake.snapshot import open_snapshot
    from pipelines.trust import measure, splits
    from rm.crossfit import out_of_fold
    from rm.data import read_gold_pairs
    from rm.train import register_run, train_examples

    gold = read_gold_pairs(lake, "pairs", None, "human_labels")
    if len(gold) < MIN_GOLD:
        raise TooFewGold(
            f"Stage 2 needs at least {MIN_GOLD} gold pairs to train the gold RM, found {len(gold)}: "
            "label pairs (`prefhouse label serve`) or import human labels, then re-run the round"
        )
    config.limit, config.label_basis = None, "gold"
    oof = out_of_fold(config, gold, splits.folds([e.pair_id for e in gold], folds))
    verdicts = gold_verdicts(lake)
    p_stored = {pid: p if verdicts.get(pid) == "chosen" else 1.0 - p for pid, p in oof.items()}
    snap = open_snapshot(lake, "pairs")
    result = train_examples(config, gold, [], {**snap.describe(), "gold_source": "human_labels"})
    register_run(lake, config, result, snap)
    (Path(result.run_dir) / "out_of_fold.json").write_text(json.dumps(p_stored))
    row = measure.measure_rm(
        lake, round, result.run_id, "gold", list(p_stored), f"{folds}-fold cross-fitting over gold", "gold",
        p_of=p_stored,
    )  # fmt: skip
    measure.write_rows(lake, [row], f"trust round {round}: gold RM {result.run_id} (out of fold)")
    run_dir = str(Path(result.run_dir).resolve())
    return GoldRMReport(result.run_id, run_dir, len(gold), result.steps, folds, len(oof), row)

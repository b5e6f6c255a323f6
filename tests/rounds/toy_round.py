"""A small real round for the runner's tests: three steps that write real lake tables.

Run as a script (``python toy_round.py LAKE ROUND``) so a test can kill it mid-step.
``TOY_PAUSE_FILE`` makes the ``label`` step write that file halfway and wait there.
"""

from __future__ import annotations

import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lake import Lake
from lake.schemas import CURATED, JUDGE_LABELS, RM_SCORES
from pipelines.rounds import RoundContext, Step, StepResult, run_round

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Score(Step):
    """A length-difference 'reward model': margin = tanh of the char-length difference / 50."""

    name, reads, writes = "score", ("pairs",), ("rm_scores",)

    def run(self, ctx: RoundContext) -> StepResult:
        pairs = ctx.lake.dataset("pairs").to_table(columns=["pair_id", "chosen", "rejected"]).to_pylist()
        run_id = f"toy-r{ctx.round}"
        rows = []
        for p in pairs:
            m = math.tanh((len(p["chosen"]) - len(p["rejected"])) / 50)
            rows.append(
                dict(
                    run_id=run_id,
                    pair_id=p["pair_id"],
                    reward_chosen=m,
                    reward_rejected=0.0,
                    margin=m,
                    p=1 / (1 + math.exp(-m)),
                    scored_at=NOW,
                )
            )
        with ctx.lake.transaction("toy score") as txn:
            _, n = txn.insert_new("rm_scores", pa.Table.from_pylist(rows, schema=RM_SCORES), on=["run_id", "pair_id"])
        return StepResult(counts={"scored": n}, facts={"run_id": run_id})


class Label(Step):
    """Two batches of judge votes, two commits; a pause between them is where the test kills."""

    name, reads, writes = "label", ("pairs",), ("judge_labels",)

    def run(self, ctx: RoundContext) -> StepResult:
        ids = sorted(ctx.lake.dataset("pairs").to_table(columns=["pair_id"]).column("pair_id").to_pylist())
        half = len(ids) // 2
        for i, batch in enumerate((ids[:half], ids[half:])):
            rows = [
                dict(
                    pair_id=p,
                    round=ctx.round,
                    model="toy",
                    template_version="v1",
                    sample=0,
                    is_chosen_shown_first=(j % 2 == 0),
                    vote="chosen" if j % 3 else "rejected",
                    rationale=None,
                    raw_output=None,
                    n_demonstrations=0,
                    judged_at=NOW,
                )
                for j, p in enumerate(batch)
            ]
            with ctx.lake.transaction("toy votes") as txn:
                txn.insert_new(
                    "judge_labels",
                    pa.Table.from_pylist(rows, schema=JUDGE_LABELS),
                    on=["pair_id", "round", "model", "sample"],
                )
            pause = os.environ.get("TOY_PAUSE_FILE")
            if i == 0 and pause:
                Path(pause).write_text(str(os.getpid()))
                time.sleep(60)  # the test kills the process here
        return StepResult(counts={"votes": len(ids)})


class Publish(Step):
    """Keep pairs the scores and the votes both agree with; tag the kept set ``round-N``."""

    name, reads, writes = "publish", ("pairs", "rm_scores", "judge_labels"), ("curated",)

    def run(self, ctx: RoundContext) -> StepResult:
        lake = ctx.lake
        scores = {
            r["pair_id"]: r
            for r in lake.dataset("rm_scores").to_table(filter=f"run_id = '{ctx.fact('run_id')}'").to_pylist()
        }
        votes = {
            r["pair_id"]: r["vote"]
            for r in lake.dataset("judge_labels").to_table(filter=f"round = {ctx.round}").to_pylist()
        }
        kept = []
        for p in lake.dataset("pairs").to_table().to_pylist():
            s = scores[p["pair_id"]]
            if s["p"] > 0.5 and votes[p["pair_id"]] == "chosen":
                kept.append(
                    dict(
                        round=ctx.round,
                        pair_id=p["pair_id"],
                        conversation=p["conversation"],
                        chosen=p["chosen"],
                        rejected=p["rejected"],
                        margin=s["margin"],
                        label_provenance="rm",
                        source=p["source"],
                        reasons=["agree"],
                    )
                )
        kept.sort(key=lambda r: r["pair_id"])
        with lake.transaction("toy publish") as txn:
            version = txn.overwrite("curated", pa.Table.from_pylist(kept, schema=CURATED))
        lake.tag("curated", f"round-{ctx.round}", version)
        return StepResult(counts={"kept": len(kept)}, facts={"kept_fraction": len(kept) / max(len(scores), 1)})


STEPS = [Score(), Label(), Publish()]

if __name__ == "__main__":
    outcome = run_round(Lake(sys.argv[1]), int(sys.argv[2]), 1, STEPS)
    print(outcome.status, outcome.ran, outcome.resumed)

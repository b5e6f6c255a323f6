"""Cross-fitting: every training pair scored by a model that never saw it.

The gold RM trains on gold itself, so its accuracy on gold says nothing until each gold pair
is scored out of fold: ``k`` models, each trained on the other folds with the same recipe and
no checkpoint selection (selection on the measured fold would leak), each scoring its own
fold. The out-of-fold accuracy estimates the accuracy of the recipe the final gold RM uses.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Sequence
from pathlib import Path

from rm.config import TrainConfig
from rm.data import Example
from rm.inference import load_run, score_sides, sigmoid
from rm.train import train_examples


def out_of_fold(config: TrainConfig, examples: Sequence[Example], folds: Sequence[Sequence[str]]) -> dict[str, float]:
    """p = sigmoid(r(chosen) - r(rejected)) of each example, from the fold model that did not train on it.

    ``examples`` are oriented (chosen = the side the labels prefer); ``folds`` partition their
    pair ids. Fold runs go to ``<out>/fold-<i>`` and are deleted once scored.
    """
    by_id = {e.pair_id: e for e in examples}
    out: dict[str, float] = {}
    for i, fold in enumerate(folds):
        held = [by_id[g] for g in fold if g in by_id]
        rest = [e for e in examples if e.pair_id not in set(fold)]
        if not held or not rest:
            continue
        cfg = copy.deepcopy(config)
        cfg.out = Path(config.out) / f"fold-{i}"
        cfg.run_id = f"{config.resolved_run_id}-fold-{i}"
        result = train_examples(cfg, rest, [], {"fold": i, "n_folds": len(folds)})
        model, tok, _ = load_run(result.run_dir, config.device, config.torch_threads)
        sides = [(e.conversation, e.chosen) for e in held] + [(e.conversation, e.rejected) for e in held]
        r = score_sides(model, tok, sides, config.max_length, config.eval_batch_size)
        for j, e in enumerate(held):
            out[e.pair_id] = sigmoid(r[j] - r[len(held) + j])
        shutil.rmtree(result.run_dir, ignore_errors=True)
    return out

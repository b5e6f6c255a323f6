"""The reward-model module: train Bradley-Terry RMs on lake snapshots, score pairs, evaluate.

``train(config)`` trains on a table at a version or tag; ``score(lake, run_dir, table)``
writes rewards back to the lake; ``evaluate.evaluate_benches(...)`` measures accuracy on benchmark items.
Heavy libraries (torch, transformers) are imported inside the functions.
"""

from rm.config import EvalConfig, ScoreConfig, TrainConfig, train_config
from rm.train import RunResult, train, train_examples

__all__ = ["EvalConfig", "RunResult", "ScoreConfig", "TrainConfig", "train", "train_config", "train_examples"]

"""The trainer: presets, schedule, and a real MiniLM run on a lake snapshot."""

from __future__ import annotations

import json
import math

import pytest

from rm.config import train_config
from rm.train import lr_lambda


def test_presets_follow_the_method_and_explicit_values_win():
    dev, final = train_config("dev"), train_config("final")
    assert (dev.lr, dev.global_batch, dev.schedule, dev.precision) == (4e-6, 256, "linear", "bf16")
    assert (final.lr, final.global_batch, final.schedule) == (3e-6, 10240, "constant")
    assert dev.gradient_checkpointing and final.gradient_checkpointing
    assert train_config("dev", lr=1e-5).lr == 1e-5
    with pytest.raises(ValueError, match="--tag or --version"):
        train_config("cpu", tag="round-1", version=3)
    with pytest.raises(ValueError, match="unknown preset"):
        train_config("huge")


def test_schedules_warm_up_then_decay_or_stay_flat():
    lin, const = lr_lambda("linear", 2, 10), lr_lambda("constant", 2, 10)
    assert [round(lin(s), 3) for s in (0, 1, 2, 6, 10)] == [0.5, 1.0, 1.0, 0.5, 0.0]
    assert [const(s) for s in (0, 1, 5, 9)] == [0.5, 1.0, 1.0, 1.0]


def test_training_on_a_snapshot_learns_and_records_the_run(trained):
    lake, result, rows = trained
    run = result.run_dir
    train_rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in train_rows if r["split"] == "train"]
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # the loss falls
    gold = [r for r in train_rows if r["split"] == "gold"]
    assert gold and gold[-1]["n"] == 4 and max(r["accuracy"] for r in gold) == 1.0
    assert result.gold_accuracy == 1.0 and result.n_train == len(rows) - 4  # gold is held out of training
    snap = json.loads((run / "snapshot.json").read_text())
    assert (snap["table"], snap["tag"], snap["ref"]) == ("pairs", "seed", "pairs@seed")
    assert snap["version"] == lake.dataset("pairs", "seed").version
    config = json.loads((run / "config.json").read_text())
    assert config["tag"] == "seed" and config["max_steps"] == 12 and config["run_id"] == "sep"
    assert (run / "checkpoint" / "prefhouse_config.json").exists()
    runs = lake.dataset("rm_runs").to_table().to_pylist()
    assert [(r["run_id"], r["train_tag"], r["gold_accuracy"]) for r in runs] == [("sep", "seed", 1.0)]


def test_weights_move(trained):
    from safetensors.torch import load_file

    from rm.config import default_backbone

    _lake, result, _rows = trained
    before = load_file(f"{default_backbone()}/model.safetensors")
    after = load_file(str(result.run_dir / "checkpoint" / "model.safetensors"))
    name = next(k for k in before if k.endswith("encoder.layer.5.output.dense.weight"))
    moved = (after["bert." + name.removeprefix("bert.")] - before[name]).abs().max().item()
    assert moved > 1e-6


def test_an_empty_snapshot_says_what_to_do(lake, tmp_path):
    pytest.importorskip("lance")
    from rm import train

    assert not lake.exists("pairs")  # never written: reads as empty
    with pytest.raises(ValueError, match="no training pairs"):
        train(train_config("cpu", table="pairs", out=tmp_path / "r", max_steps=1), lake)


def test_dropout_is_off_while_training_by_default(trained):
    """Both sides of a pair go through the same network: in train mode two forwards agree."""
    import torch

    from rm.config import default_backbone
    from rm.model import load_reward_model, load_tokenizer
    from rm.train import disable_dropout

    _lake, result, _rows = trained
    assert json.loads((result.run_dir / "config.json").read_text())["disable_dropout"] is True
    tok = load_tokenizer(default_backbone())
    model = load_reward_model(default_backbone(), tok).train()
    batch = tok(["user: hi\n\nassistant: hello there"], return_tensors="pt")
    with torch.no_grad():
        assert not torch.equal(model(**batch).logits, model(**batch).logits)  # dropout on: noisy
        assert disable_dropout(model) > 0
        assert torch.equal(model(**batch).logits, model(**batch).logits)

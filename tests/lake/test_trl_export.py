"""Exports read by their real consumers: Hugging Face ``datasets`` loads every layout in both
formats and sees the lake's labels; TRL's ``RewardTrainer`` tokenises the conversation once and
trains a few steps on an export with a tiny random-init Qwen2 built here (nothing downloaded).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lake.export import LAYOUTS
from lake.records import pair_row, pairs_table
from lake.schemas import CURATED
from lake.snapshot import open_snapshot

pytest.importorskip("datasets")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rm"))  # the repo's tiny-model builder
from rm_tiny_models import build_tiny_decoder

WORDS = ["cats", "rivers", "bread", "stars", "chess", "music", "rain", "trains"]
SYSTEM = {"role": "system", "content": "be kind"}


def _conversation(i: int, w: str) -> list[dict[str, str]]:
    if i % 3 == 2:  # some multi-turn conversations, with a system turn
        return [SYSTEM, {"role": "user", "content": f"hi , {w}"}, {"role": "assistant", "content": "hello"},
                {"role": "user", "content": f"tell me about {w}"}]  # fmt: skip
    return [{"role": "user", "content": f"tell me about {w}"}]


def _round_lake(lake) -> None:
    """pairs, then curated@round-2 (every pair as stored) and flipped@round-2 (two of them flipped)."""
    answer, sources = "are great , here is a helpful answer .", ["mine", "hh-rlhf:helpful-base"]
    rows = [
        pair_row(_conversation(i, w), f"{w} {answer}", "no .", source=sources[i % 2], source_row=i)
        for i, w in enumerate(WORDS)
    ]
    lake.append("pairs", pairs_table(rows))

    def published(sel, flip: bool) -> pa.Table:
        return pa.Table.from_pylist(
            [{"round": 2, "pair_id": r["pair_id"], "conversation": r["conversation"],
              "chosen": r["rejected"] if flip else r["chosen"], "rejected": r["chosen"] if flip else r["rejected"],
              "margin": 0.5 if i % 2 else None, "label_provenance": "human" if flip else "original",
              "source": r["source"], "reasons": []} for i, r in enumerate(sel)],
            schema=CURATED,
        )  # fmt: skip

    lake.append("curated", published(rows, False))
    lake.append("flipped", published(rows[:2], True))
    lake.tag("curated", "round-2")
    lake.tag("flipped", "round-2")


def _lake_labels(snap) -> dict[str, tuple[list[dict[str, str]], str, str]]:
    cols = ["pair_id", "conversation", "chosen", "rejected"]
    rows = snap.dataset.to_table(columns=cols).to_pylist()
    return {r["pair_id"]: (r["conversation"], r["chosen"], r["rejected"]) for r in rows}


def _labels_seen(row: dict, layout: str) -> tuple[list[dict[str, str]] | str, str, str]:
    """(conversation, chosen reply, rejected reply) as a trainer reading ``layout`` sees them."""
    if layout == "trl":
        assert len(row["chosen"]) == len(row["rejected"]) == 1
        assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
        return row["prompt"], row["chosen"][0]["content"], row["rejected"][0]["content"]
    if layout in ("trl-implicit", "openrlhf"):
        assert "prompt" not in row and row["chosen"][:-1] == row["rejected"][:-1]
        assert row["chosen"][-1]["role"] == row["rejected"][-1]["role"] == "assistant"
        return row["chosen"][:-1], row["chosen"][-1]["content"], row["rejected"][-1]["content"]
    return row["prompt"], row["chosen"], row["rejected"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_datasets_loads_every_layout_with_the_lakes_labels(lake, tmp_path, layout, fmt):
    from datasets import load_dataset

    from rm.formatting import plain_format

    _round_lake(lake)
    cache = str(tmp_path / "hf-cache")
    for table in ("curated", "flipped"):
        snap = open_snapshot(lake, table, "round-2")
        out = tmp_path / table
        target = snap.export(out, fmt, layout)
        ds = load_dataset("parquet" if fmt == "parquet" else "json", data_files=str(target), split="train",
                          cache_dir=cache)  # fmt: skip
        assert "margin" not in ds.column_names
        # the folder loads as it is too: the card's configs name the data file (OpenRLHF falls back to this)
        assert load_dataset(str(out), split="train", cache_dir=cache).to_list() == ds.to_list()
        lake_labels = _lake_labels(snap)
        assert sorted(ds["pair_id"]) == sorted(lake_labels)
        for row in ds:
            conversation, chosen, rejected = lake_labels[row["pair_id"]]
            seen_conv, seen_chosen, seen_rejected = _labels_seen(row, layout)
            assert (seen_chosen, seen_rejected) == (chosen, rejected)  # flipped rows stay flipped
            if layout == "text":
                assert seen_conv + seen_chosen == plain_format(conversation, chosen)
            else:
                assert seen_conv == conversation


def _tiny_model(tmp_path):
    texts = [f"{t['content']} {w} are great , here is a helpful answer . no ." for w in WORDS
             for t in _conversation(2, w)]  # fmt: skip
    return build_tiny_decoder(texts, tmp_path / "tiny", hidden=32, layers=1)


@pytest.mark.parametrize("layout", ["trl", "trl-implicit", "text"])
def test_trl_reward_trainer_reads_the_export_and_trains(lake, tmp_path, layout):
    pytest.importorskip("trl")
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast
    from trl import RewardConfig, RewardTrainer

    from rm.formatting import plain_format

    _round_lake(lake)
    snap = open_snapshot(lake, "curated", "round-2")
    margin = layout == "trl"  # one run with the opt-in margin column in TRL's loss
    target = snap.export(tmp_path / "export", "parquet", layout, margin=margin)
    ds = load_dataset("parquet", data_files=str(target), split="train", cache_dir=str(tmp_path / "hf-cache"))
    backbone = _tiny_model(tmp_path)
    # the class it was saved as: AutoTokenizer would pick Qwen2Tokenizer from config.json and lose the vocabulary
    tok = PreTrainedTokenizerFast.from_pretrained(str(backbone))
    model = AutoModelForSequenceClassification.from_pretrained(str(backbone), num_labels=1)
    args = RewardConfig(
        output_dir=str(tmp_path / "trl"), max_steps=3, per_device_train_batch_size=4, learning_rate=1e-3,
        logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, seed=0,
    )  # fmt: skip
    trainer = RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    # what TRL tokenised: the conversation once, then the reply (and, for text, its EOS)
    lake_labels = _lake_labels(snap)
    for row in trainer.train_dataset:
        conversation, chosen, rejected = lake_labels[row["pair_id"]]
        for side, reply in (("chosen_ids", chosen), ("rejected_ids", rejected)):
            if layout == "text":
                want = tok(plain_format(conversation, reply) + tok.eos_token)["input_ids"]
            else:
                messages = [*conversation, {"role": "assistant", "content": reply}]
                want = tok.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
            assert row[side] == want
        assert tok.unk_token_id not in want or layout == "text"  # ("User:" is not a word of the tiny vocabulary)
        assert tok.decode(row["chosen_ids"]).count("tell me about") == 1
    assert len(trainer.train_dataset) == len(lake_labels)
    assert ("margin" in trainer.train_dataset.column_names) == margin  # enters the loss only when exported
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)

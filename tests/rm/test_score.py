"""Scoring: rows in rm_scores and columns on the table match a direct forward pass; re-runs resume."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("lance")


def _direct_rewards(run_dir, conversation, responses):
    """A forward pass written out by hand: format, tokenise, run the checkpoint."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rm.formatting import plain_format

    tok = AutoTokenizer.from_pretrained(str(run_dir / "checkpoint"))
    tok.truncation_side = "left"
    model = AutoModelForSequenceClassification.from_pretrained(str(run_dir / "checkpoint")).eval()
    texts = [plain_format(conversation, r) for r in responses]
    with torch.inference_mode():
        out = []
        for text in texts:  # one at a time: no padding at all
            enc = tok(text, truncation=True, max_length=48, return_tensors="pt")
            out.append(model(**enc).logits[0, 0].item())
    return out


def test_scores_written_back_match_a_direct_forward_pass(trained):
    from rm import ScoreConfig
    from rm.score import column_prefix, score

    lake, result, rows = trained
    if lake.exists("rm_scores"):  # scoring resumes: drop what other tests of the session scored (in auto precision)
        with lake.transaction("rescore in fp32") as txn:
            txn.delete("rm_scores", f"run_id = '{result.run_id}'")
    before = lake.version("pairs")  # fp32: the reference forward pass below is fp32 (auto may take bf16)
    version = score(lake, result.run_dir, "pairs", config=ScoreConfig(run=result.run_dir, precision="fp32")).version
    assert version > before
    scores = {r["pair_id"]: r for r in lake.dataset("rm_scores").to_table().to_pylist()}
    assert set(scores) == {r["pair_id"] for r in rows}
    prefix = column_prefix(result.run_id)
    table = lake.dataset("pairs").to_table().to_pylist()
    for row in table[:3]:
        rc, rr = _direct_rewards(result.run_dir, row["conversation"], [row["chosen"], row["rejected"]])
        s = scores[row["pair_id"]]
        assert s["reward_chosen"] == pytest.approx(rc, abs=1e-4)
        assert s["reward_rejected"] == pytest.approx(rr, abs=1e-4)
        assert s["margin"] == pytest.approx(rc - rr, abs=1e-4)
        assert s["p"] == pytest.approx(1 / (1 + math.exp(-(rc - rr))), abs=1e-4)
        assert row[prefix + "margin"] == pytest.approx(s["margin"])
        assert row[prefix + "p"] == pytest.approx(s["p"])
    # resumable: a second run scores nothing new, and the columns are replaced, not duplicated
    n = lake.dataset("rm_scores").count_rows()
    score(lake, result.run_dir, "pairs")
    assert lake.dataset("rm_scores").count_rows() == n
    names = lake.dataset("pairs").schema.names
    assert sum(c.startswith(prefix) for c in names) == 4
    # the scores sit on a new version: the tagged snapshot the run read is unchanged
    assert not any(c.startswith(prefix) for c in lake.dataset("pairs", "seed").schema.names)


def test_scoring_a_run_folder_without_checkpoint_says_what_to_do(trained, tmp_path):
    from rm.score import score

    lake, _result, _rows = trained
    with pytest.raises(FileNotFoundError, match="prefhouse train --out"):
        score(lake, tmp_path, "pairs")

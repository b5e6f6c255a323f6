"""Agreement on the shipped PandaLM votes equals what scikit-learn, statsmodels and krippendorff compute."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

PANDALM = Path(__file__).resolve().parents[2] / "data" / "pandalm" / "testset-v1.json"
ANNOTATORS = ("annotator1", "annotator2", "annotator3")


@pytest.fixture(scope="module")
def pandalm(tmp_path_factory):
    from lake import Lake
    from pipelines.ingest import ingest_paths
    from pipelines.trust.agreement import agreement_rows

    lake = Lake(tmp_path_factory.mktemp("pandalm") / "lakehouse")
    ingest_paths(lake, [PANDALM], format="pandalm", source="pandalm")
    rows = lake.dataset("pairs").to_table(columns=["source_row", "category"]).to_pylist()
    records = json.loads(PANDALM.read_text())
    # the reference: the raw file's votes (1 / 2 / 0 = tie) of the rows the lake kept, as the annotators gave them
    votes = np.array([[records[r["source_row"]][a] for a in ANNOTATORS] for r in rows])
    categories = [records[r["source_row"]]["motivation_app"].lower() for r in rows]
    return agreement_rows(lake, 0, resamples=50), votes, categories


def _by(rows, scope="all"):
    return {(r["metric"], r["annotator_a"], r["annotator_b"]): r for r in rows if r["scope"] == scope}


def _reference(votes: np.ndarray) -> dict:
    import krippendorff
    from sklearn.metrics import accuracy_score, cohen_kappa_score
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    ref = {}
    agree = total = 0
    for i, j in itertools.combinations(range(3), 2):
        ref[("cohen_kappa", f"pandalm:{ANNOTATORS[i]}", f"pandalm:{ANNOTATORS[j]}")] = cohen_kappa_score(
            votes[:, i], votes[:, j]
        )
        agree += accuracy_score(votes[:, i], votes[:, j]) * len(votes)
        total += len(votes)
    ref[("raw_agreement", None, None)] = agree / total
    ref[("fleiss_kappa", None, None)] = fleiss_kappa(aggregate_raters(votes)[0], method="fleiss")
    ref[("krippendorff_alpha", None, None)] = krippendorff.alpha(
        reliability_data=votes.T.astype(float), level_of_measurement="nominal"
    )
    return ref


def test_overall_values_equal_the_libraries(pandalm):
    rows, votes, _ = pandalm
    got = _by(rows)
    ref = _reference(votes)
    assert set(got) == set(ref)
    for key, value in ref.items():
        assert got[key]["value"] == pytest.approx(value, abs=1e-6), key
        assert got[key]["n_pairs"] == len(votes)
        assert got[key]["ci_low"] <= got[key]["value"] <= got[key]["ci_high"], key
    # on what they saw, PandaLM's annotators agree well beyond chance (not the -0.03 of majority-oriented votes)
    assert all(got[k]["value"] > 0.4 for k in got if k[0] == "cohen_kappa")


def test_per_category_values_equal_the_libraries(pandalm):
    rows, votes, categories = pandalm
    biggest = max(set(categories), key=categories.count)
    sub = votes[[c == biggest for c in categories]]
    got = _by(rows, biggest)
    for key, value in _reference(sub).items():
        assert got[key]["value"] == pytest.approx(value, abs=1e-6), (biggest, key)
        assert got[key]["ci_low"] is not None and got[key]["ci_high"] is not None

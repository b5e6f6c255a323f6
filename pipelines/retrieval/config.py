"""The retrieval stages' configs: embeddings, near-duplicate prompts, the vector index, adaptive
retrieval (Stage 1) and triage (Stage 2).

Beside their stages (:mod:`pipelines.retrieval.embed`, :mod:`~pipelines.retrieval.neardup`,
:mod:`~pipelines.retrieval.vectors`, :mod:`~pipelines.retrieval.retrieve`, :mod:`~pipelines.retrieval.triage`,
which import them from here) in a module of their own, so that
building the command line's options does not load LanceDB, Lance or polars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pipelines.retrieval.encoder import Encoder

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MAX_DEMOS = 8  # gold demonstrations a judge sees per pair (the method's "up to 8"): anchors per queued pair


@dataclass
class IndexSettings:
    ann_min_rows: int = 50_000  # below this, exact search is fast enough (about 50 ms at 50k x 384)
    index_type: str = "IVF_PQ"
    nprobes: int = 24
    refine_factor: int = 20


@dataclass
class EmbedConfig:
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": "sentence-transformers model: all-MiniLM-L6-v2 (packaged) or a local folder"},
    )
    batch_size: int = field(default=64, metadata={"help": "texts per model forward pass"})
    chunk_rows: int = field(default=8192, metadata={"help": "texts embedded between two table writes"})
    ann_min_rows: int = field(
        default=50_000, metadata={"help": "build the cosine ANN index once a table has this many rows"}
    )
    index_type: Literal["IVF_PQ", "IVF_HNSW_SQ"] = field(default="IVF_PQ", metadata={"help": "ANN index type"})
    nprobes: int = field(default=24, metadata={"help": "IVF partitions probed per ANN query"})
    refine_factor: int = field(default=20, metadata={"help": "ANN candidates re-ranked exactly, times k"})
    threads: int = field(default=2, metadata={"help": "torch CPU threads"})
    device: str = field(default="cpu", metadata={"help": "torch device: cpu, cuda, ..."})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def index_settings(self) -> IndexSettings:
        return IndexSettings(self.ann_min_rows, self.index_type, self.nprobes, self.refine_factor)

    def encoder(self) -> Encoder:
        from pipelines.retrieval.encoder import Encoder

        return Encoder(self.model, device=self.device, threads=self.threads)


@dataclass
class NeardupConfig(EmbedConfig):
    threshold: float = field(
        default=0.9, metadata={"help": "cosine similarity at or above which two prompts are near-duplicates"}
    )
    max_neighbours: int = field(default=64, metadata={"help": "neighbours looked at per cluster leader"})


@dataclass
class RetrieveConfig:
    round: int = field(default=1, metadata={"help": "curation round the queue is for"})
    run: str | None = field(default=None, metadata={"help": "rm run whose p to use (default: latest best/silver)"})
    gold_probs: Path | None = field(default=None, metadata={"help": "CSV of pair_id,p instead of rm_scores"})
    k_max: int = field(default=8, metadata={"help": "neighbours for a gold pair the RM gets wrong (p <= 0.5)"})
    max_anchors: int = field(default=8, metadata={"help": "anchors (judge demonstrations) kept per candidate"})
    same_category: bool = field(default=False, metadata={"help": "retrieve only pairs of the anchor's category"})
    human_share: float = field(default=0.2, metadata={"help": "share of the queue routed to human annotators"})
    ann_min_rows: int = field(default=50_000, metadata={"help": "use the ANN index from this many vectors"})
    nprobes: int = field(default=24, metadata={"help": "IVF partitions probed per ANN query"})
    refine_factor: int = field(default=20, metadata={"help": "ANN candidates re-ranked exactly, times k"})


@dataclass
class TriageConfig:
    round: int = field(default=1, metadata={"help": "curation round the queue is for"})
    run: str | None = field(default=None, metadata={"help": "rm run whose p decides (Stage 2: the best RM)"})
    confident_p: float = field(
        default=0.75, metadata={"help": "stage 2: best-RM p above which a pair skips the judges (agrees confidently)"}
    )
    anchors: int = field(default=MAX_DEMOS, metadata={"help": "nearest gold pairs queued with each pair (at most 8)"})

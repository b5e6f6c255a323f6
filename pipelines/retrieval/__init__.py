"""Embeddings, near-duplicate prompts and adaptive retrieval on LanceDB (docs/method.md, Stage 1 step 5).

Stages: :func:`embed_pairs` (``embeddings``), :func:`find_near_duplicates` (``neighbours``),
:func:`retrieve` (``retrieval_queue``); notebook API :func:`nearest`.
"""

from pipelines.retrieval.embed import EMBEDDINGS, EmbedConfig, embed_pairs
from pipelines.retrieval.encoder import DEFAULT_MODEL, Encoder
from pipelines.retrieval.neardup import PROMPT_EMBEDDINGS, NeardupConfig, NeardupReport, find_near_duplicates
from pipelines.retrieval.nearest import nearest
from pipelines.retrieval.retrieve import RetrieveConfig, RetrieveReport, retrieve
from pipelines.retrieval.search import VectorIndex
from pipelines.retrieval.sets import k_for
from pipelines.retrieval.text import conversation_text, pair_text, text_hash
from pipelines.retrieval.vectors import IndexSettings, SyncReport

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDINGS",
    "PROMPT_EMBEDDINGS",
    "EmbedConfig",
    "Encoder",
    "IndexSettings",
    "NeardupConfig",
    "NeardupReport",
    "RetrieveConfig",
    "RetrieveReport",
    "SyncReport",
    "VectorIndex",
    "conversation_text",
    "embed_pairs",
    "find_near_duplicates",
    "k_for",
    "nearest",
    "pair_text",
    "retrieve",
    "text_hash",
]

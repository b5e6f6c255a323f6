"""The skip rule of the tests marked ``gpu``: each needs CUDA, and some the vllm of the ``gpu`` extra.

Without them a test skips with the reason given (``make gpu-check`` runs them on a GPU machine).
"""

from __future__ import annotations

from types import ModuleType

import pytest


def require_cuda(reason: str = "needs CUDA") -> ModuleType:
    """torch, when CUDA is there; else the test skips."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip(reason)
    return torch


def require_vllm(reason: str) -> ModuleType:
    """torch, when CUDA and vllm are there; else the test skips."""
    torch = require_cuda()
    pytest.importorskip("vllm", reason=reason)
    return torch

"""torch.distributed plumbing of the distributed trainer: the process group, FSDP2 sharding,
collective sums and gathers, and the two checkpoint forms.

- :func:`process_group`: nccl on CUDA (one GPU per local rank), gloo on CPU; a plain
  ``python -m rm.distributed`` without torchrun runs as a world of one.
- :func:`shard_model`: ``fully_shard`` (FSDP2) on every transformer block, then on the root;
  parameters, gradients and AdamW state are sharded across ranks and stay fp32, while
  ``MixedPrecisionPolicy(param_dtype=bfloat16, reduce_dtype=float32)`` runs forward/backward
  in bf16 and reduces gradients in fp32.
- :func:`save_sharded`: model + optimizer state with torch.distributed.checkpoint (each rank
  writes its own shard files). :func:`save_consolidated`: the full fp32 weights gathered to
  rank 0 and written as the Hugging Face folder :mod:`rm.train` writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rm.loop import save_checkpoint
from rm.model import pick_device


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    device: str  # "cpu" or "cuda:<local rank>"
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@contextmanager
def process_group(device: str = "auto") -> Iterator[Dist]:
    """Join (or create) the default process group; destroy it on exit if this call created it."""
    import torch
    import torch.distributed as dist

    device = pick_device(device)
    if device == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    backend = "nccl" if device.startswith("cuda") else "gloo"
    owned = not dist.is_initialized()
    if owned and "RANK" in os.environ:  # launched by torchrun: rank, world and rendezvous come from the env
        dist.init_process_group(backend, device_id=torch.device(device) if backend == "nccl" else None)
    elif owned:  # a world of one, no network
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield Dist(dist.get_rank(), dist.get_world_size(), device, backend)
    finally:
        if owned:
            dist.destroy_process_group()


def shard_model(model: Any, bf16: bool) -> int:
    """FSDP2 on each transformer block (the entries of the outermost ModuleLists), then the root.

    Returns how many blocks were sharded on their own. ``bf16``: bf16 compute with fp32 master
    weights and fp32 gradient reduction; otherwise everything in fp32.
    """
    import torch
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else None
    kwargs = {"mp_policy": mp} if mp is not None else {}
    lists: list[str] = []
    blocks: list[Any] = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and not any(name.startswith(p + ".") for p in lists):
            lists.append(name)
            blocks.extend(module)
    for block in blocks:  # inner units first: each block's parameters are gathered only while it runs
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return len(blocks)


def all_sum(values: list[float], d: Dist) -> list[float]:
    """Element-wise sum of ``values`` over ranks (float64, so counts stay exact)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_gather(obj: Any, d: Dist) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    import torch.distributed as dist

    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def save_sharded(model: Any, opt: Any, path: Path) -> None:
    """Model and optimizer state as a DCP checkpoint (collective: every rank writes its shards)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_sd, optim_sd = get_state_dict(model, opt)
    dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(path))


def load_sharded(model: Any, opt: Any, path: Path) -> None:
    """Load a :func:`save_sharded` checkpoint into a model and optimizer sharded the same way (collective)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

    model_sd, optim_sd = get_state_dict(model, opt)
    state = {"model": model_sd, "optim": optim_sd}
    dcp.load(state, checkpoint_id=str(path))
    set_state_dict(model, opt, model_state_dict=state["model"], optim_state_dict=state["optim"])


def save_consolidated(model: Any, tok: Any, cfg: dict[str, Any], path: Path, d: Dist) -> None:
    """Gather the full fp32 weights on rank 0 and write rm.train's checkpoint folder (collective)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if d.is_main:
        save_checkpoint(model, tok, cfg, path, state_dict=full)

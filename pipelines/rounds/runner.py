"""Run a round's steps in order, record each one in ``round_steps``, resume after a failure.

Every step gets a ``running`` record when it starts and a ``done`` / ``skipped`` /
``failed`` record when it ends, with the versions of the tables it read and wrote,
its counts and the facts later steps need. Re-running a round skips the steps whose
latest record is ``done`` or ``skipped`` (their facts are restored from the record) and
redoes the rest, so a round killed in the middle resumes where it stopped. A step's
own writes commit before its ``done`` record does: a step killed between the two is
redone, which is why steps write idempotently (insert_new / upsert / overwrite).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lake.configargs import config_to_dict
from lake.round_steps import CONFIG_RECORD, latest_by_step, step_records
from lake.schemas import ROUND_STEPS, TABLES
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.engine import engine_session
from pipelines.rounds.step import GateBlocked, RoundContext, Step, StepResult

if TYPE_CHECKING:
    from lake import Lake

FINISHED = ("done", "skipped")


@dataclass
class RoundOutcome:
    """How a run of a round ended."""

    round: int
    stage: int
    status: str  # done | blocked | failed
    ran: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # steps already finished by an earlier run
    message: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def _versions(lake: Lake, tables: Sequence[str]) -> dict[str, int | None]:
    # Known tables never written read as None; others (LanceDB's embeddings) only if present.
    return {t: lake.version(t) for t in tables if t in TABLES or lake.exists(t)}


def _record(lake: Lake, ctx: RoundContext, step: Step, status: str, started: datetime, **cols: Any) -> None:
    row = {
        "round": ctx.round,
        "stage": ctx.stage,
        "step": step.name,
        "status": status,
        "inputs": json.dumps(cols.get("inputs", {})),
        "outputs": json.dumps(cols.get("outputs", {})),
        "counts": json.dumps(cols.get("counts", {}), default=float),
        "facts": json.dumps(cols.get("facts", {}), default=str),
        "message": cols.get("message", ""),
        "started_at": started,
        "finished_at": datetime.now(UTC),
    }
    lake.append("round_steps", pa.Table.from_pylist([row], schema=ROUND_STEPS), f"round {ctx.round} step {step.name}")


class _Config(Step):
    """Not a step: the record of the resolved config a round run used (``round status`` shows it)."""

    name = CONFIG_RECORD


def _record_config(lake: Lake, ctx: RoundContext) -> None:
    """One ``round_steps`` row per round run: the full resolved config in ``facts``, what differs from
    the defaults in ``message``."""
    resolved = config_to_dict(ctx.config)
    defaults = config_to_dict(RoundConfig(round=ctx.round, stage=ctx.stage))  # type: ignore[arg-type]
    changed = {k: v for k, v in resolved.items() if defaults.get(k) != v}
    note = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in sorted(changed.items())) or "all defaults"
    _record(
        lake, ctx, _Config(), "done", datetime.now(UTC), facts=resolved, message=f"{len(resolved)} settings; {note}"
    )


def _run_step(
    lake: Lake, ctx: RoundContext, step: Step, outcome: RoundOutcome, log: Callable[[str], None], where: str
) -> bool:
    """Run one step and record it; False when the gate blocked the round (other errors propagate)."""
    started = datetime.now(UTC)
    with lake.reading_at():  # the step reads one lake commit (plus its own writes), whatever lands meanwhile
        inputs = _versions(lake, step.reads)
        _record(lake, ctx, step, "running", started, inputs=inputs)
        try:
            result = step.run(ctx) or StepResult()
        except GateBlocked as exc:
            _record(lake, ctx, step, "failed", started, inputs=inputs, message=str(exc))
            log(f"{where} {step.name}: BLOCKED: {exc}")
            outcome.status, outcome.message = "blocked", str(exc)
            return False
        except BaseException as exc:
            _record(lake, ctx, step, "failed", started, inputs=inputs, message=f"{type(exc).__name__}: {exc}")
            raise
        outputs = _versions(lake, step.writes)
    ctx.facts.update(result.facts)
    _record(
        lake, ctx, step, result.status, started, inputs=inputs, outputs=outputs, counts=result.counts,
        facts=result.facts, message=result.message,
    )  # fmt: skip
    outcome.ran.append(step.name)
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    note = f" ({result.message})" if result.message else ""
    log(f"{where} {step.name}: {result.status} {counts}{note}")
    return True


def run_round(
    lake: Lake,
    round: int,
    stage: int,
    steps: Sequence[Step],
    config: RoundConfig | None = None,
    log: Callable[[str], None] = print,
) -> RoundOutcome:
    """Run (or resume) ``steps`` of round ``round``; returns how it ended. Other errors propagate."""
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"step names must be unique within a round: {names}")
    if config is None:  # every step reads one typed config: the defaults, for this round
        config = RoundConfig(round=round, stage=stage)  # type: ignore[arg-type]
    ctx = RoundContext(lake=lake, round=round, stage=stage, config=config, log=log)
    _record_config(lake, ctx)
    outcome = RoundOutcome(round=round, stage=stage, status="done")
    finished = latest_by_step(lake, round, stage)
    with engine_session(config.engine):  # one Ray cluster for the round's Ray jobs (none when local)
        for i, step in enumerate(steps, 1):
            where = f"[round {round} stage {stage}]"
            prior = finished.get(step.name)
            if prior is not None and prior["status"] in FINISHED:
                ctx.facts.update(json.loads(prior["facts"] or "{}"))
                outcome.resumed.append(step.name)
                log(f"{where} {i}/{len(steps)} {step.name}: already {prior['status']}, kept")
                continue
            log(f"{where} {i}/{len(steps)} {step.name} ...")
            if not _run_step(lake, ctx, step, outcome, log, where):
                break
    outcome.facts = dict(ctx.facts)
    if outcome.status == "done" and ctx.fact("trust_summary"):
        outcome.message = "trust: " + ctx.fact("trust_summary")  # the status line says who could decide
    return outcome


def round_status(lake: Lake) -> list[dict[str, Any]]:
    """The latest record of every step of every round, for ``prefhouse round status``."""
    latest: dict[tuple[int, int, str], dict[str, Any]] = {}
    order: list[tuple[int, int, str]] = []
    for row in step_records(lake):
        key = (row["round"], row["stage"], row["step"])
        if key not in latest:
            order.append(key)
        latest[key] = row
    return [latest[k] for k in order]

"""Quality gates: Great Expectations suites over the lake, a checkpoint runner, offline results."""

from expectations.checkpoint import Failure, GateResult, load_result, results_dir, run_gate, validate_frames
from expectations.suites import all_suites

__all__ = ["Failure", "GateResult", "all_suites", "load_result", "results_dir", "run_gate", "validate_frames"]

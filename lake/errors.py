"""The lake's one error type (no Lance import: modules that only raise or catch it stay light)."""


class LakeError(RuntimeError):
    """A lake operation that cannot go on; the message says what to do."""

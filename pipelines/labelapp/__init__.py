"""The human verification app: a local web app where annotators label queued pairs."""

from pipelines.labelapp.store import append_labels, label_row

__all__ = ["append_labels", "label_row"]

"""Trust: every label source measured on gold before its vote counts (docs/trust.md).

:func:`measure_round` measures a round's sources into ``source_trust``; the rule that turns a
measurement into a vote (``is_trusted_expr`` in ``dbt_project/macros/rules.sql``) is applied by
:class:`lake.rules.TrustRule` here and by the dbt marts.
"""

from pipelines.trust.round import TrustReport, measure_round

__all__ = ["TrustReport", "measure_round"]

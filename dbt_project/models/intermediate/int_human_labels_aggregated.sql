-- Human gold labels per pair up to this round, by the one gold rule (macros/rules.sql,
-- gold_verdicts_sql, which prefhouse's Python stages run too): each annotator's latest
-- verdict, annotators int_sources_trusted measured untrusted left out, the majority share.
{{ gold_verdicts_sql(
    ref('stg_lake__human_labels'),
    var('round'),
    var('human_min_agreement'),
    "select source_id from " ~ ref('int_sources_trusted') ~ " where source_kind = 'annotator' and not is_trusted"
) }}

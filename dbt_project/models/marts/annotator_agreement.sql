-- Agreement among human annotators for this round, as pipelines/trust/agreement.py computed it
-- with established libraries on what each annotator saw (the source's order, ties kept):
-- the rows of the latest round up to var round that has any.
with

agreement as (
    select * from {{ ref('stg_lake__annotator_agreement') }}
    where round <= {{ var('round') }}
),

final as (
    select {{ var('round') }}::integer as round, * exclude (round), round as computed_in_round
    from agreement
    where round = (select max(round) from agreement)
)

select * from final

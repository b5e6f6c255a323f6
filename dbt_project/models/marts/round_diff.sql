-- Pairs that entered or left the kept set since the previous round's publication (the lake
-- table curated at tag round-(N-1)), with this round's decision and reasons as the why.
with

current_round as (
    select * from {{ ref('curated_pairs') }}
),

previous as (
    select * from {{ ref('stg_lake__curated_previous') }}
),

entered as (
    select
        current_round.pair_id,
        'entered' as change,
        current_round.decision,
        current_round.reasons,
        current_round.label_provenance,
        null::varchar as previous_provenance
    from current_round
    anti join previous using (pair_id)
    where current_round.decision = 'keep'
),

left_set as (
    select
        previous.pair_id,
        'left' as change,
        coalesce(current_round.decision, 'absent') as decision,
        coalesce(current_round.reasons, ['pair_absent']) as reasons,
        current_round.label_provenance,
        previous.label_provenance as previous_provenance
    from previous
    left join current_round on current_round.pair_id = previous.pair_id
    where coalesce(current_round.decision, 'absent') <> 'keep'
),

final as (
    select
        {{ var('round') }}::integer as round,
        {{ var('round') }}::integer - 1 as previous_round,
        *
    from (select * from entered union all select * from left_set)
)

select * from final

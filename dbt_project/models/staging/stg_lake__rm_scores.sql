with

source as (
    select * from {{ source('lake', 'rm_scores') }}
),

final as (
    select
        run_id,
        pair_id,
        cast(reward_chosen as double) as reward_chosen,
        cast(reward_rejected as double) as reward_rejected,
        cast(margin as double) as margin,
        cast(p as double) as p,
        scored_at
    from source
)

select * from final

with

source as (
    select * from {{ source('lake', 'retrieval_queue') }}
),

final as (
    select
        round,
        pair_id,
        len(anchors) as n_anchors,
        cast(best_similarity as double) as best_similarity,
        route,
        queued_at
    from source
)

select * from final

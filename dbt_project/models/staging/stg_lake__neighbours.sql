with

source as (
    select * from {{ source('lake', 'neighbours') }}
),

final as (
    select
        pair_id,
        cluster_id,
        is_representative,
        cast(similarity as double) as similarity,
        cast(threshold as double) as threshold,
        model as embedding_model,
        computed_at
    from source
)

select * from final

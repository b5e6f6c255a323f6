-- The kept set published by the previous round (lake table curated at tag round-(N-1)).
with

source as (
    select * from {{ source('lake', 'curated_previous') }}
),

final as (
    select
        round,
        pair_id,
        label_provenance,
        source,
        reasons
    from source
)

select * from final

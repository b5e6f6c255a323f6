-- Pairs as ingested; the text columns are read only by int_pairs_normalised.
with

source as (
    select * from {{ source('lake', 'pairs') }}
),

final as (
    select
        pair_id,
        prompt_id,
        pairset_id,
        conversation,
        chosen,
        rejected,
        is_tie,
        category as source_category,
        coalesce(label_origin, 'unknown') as label_origin,
        label_details,
        source,
        source_file,
        source_row,
        ingest_batch_id,
        ingested_at
    from source
)

select * from final

with

source as (
    select * from {{ source('lake', 'pair_sources') }}
),

final as (
    select
        pair_id,
        source,
        source_file,
        source_row,
        is_first_sighting,
        label_details,
        ingest_batch_id,
        ingested_at
    from source
)

select * from final

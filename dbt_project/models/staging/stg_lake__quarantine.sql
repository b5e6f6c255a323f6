with

source as (
    select * from {{ source('lake', 'quarantine') }}
),

final as (
    select
        ingest_batch_id,
        source,
        source_file,
        source_row,
        reason,
        detail,
        quarantined_at
    from source
)

select * from final

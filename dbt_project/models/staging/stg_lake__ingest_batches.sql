with

source as (
    select * from {{ source('lake', 'ingest_batches') }}
),

final as (
    select
        ingest_batch_id,
        source,
        format,
        is_benchmark,
        n_read,
        n_accepted,
        n_duplicate,
        n_quarantined,
        started_at,
        finished_at
    from source
)

select * from final

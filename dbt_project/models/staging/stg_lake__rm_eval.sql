with

source as (
    select * from {{ source('lake', 'rm_eval') }}
),

final as (
    select
        run_id,
        bench,
        subset,
        metric,
        n,
        value,
        evaluated_at
    from source
)

select * from final

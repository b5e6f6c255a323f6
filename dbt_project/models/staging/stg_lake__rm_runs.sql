with

source as (
    select * from {{ source('lake', 'rm_runs') }}
),

final as (
    select
        run_id,
        run_dir,
        coalesce(role, 'adhoc') as role,
        round,
        backbone,
        train_table,
        train_version,
        train_tag,
        gold_accuracy,
        created_at
    from source
)

select * from final

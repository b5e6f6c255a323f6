with

source as (
    select * from {{ source('lake', 'prechecks') }}
),

final as (
    select
        pair_id,
        side,
        is_correct,
        model as precheck_model,
        template_version,
        checked_at
    from source
)

select * from final

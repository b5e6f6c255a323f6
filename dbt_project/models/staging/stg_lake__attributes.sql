with

source as (
    select * from {{ source('lake', 'attributes') }}
),

final as (
    select
        pair_id,
        status = 'ok' as is_ok,
        lower(trim(task_category)) as task_category,
        lower(trim(objectivity)) as objectivity,
        lower(trim(controversiality)) as controversiality,
        model as annotator_model,
        template_version,
        annotated_at
    from source
)

select * from final

-- Attribute filters: the latest successful annotation of each pair, checked against the
-- allowed / dropped task categories, objectivity and controversiality vars (an empty list
-- filters nothing). A pair without attributes passes: it is not filtered on what is unknown.
with

attributes as (
    select * from {{ ref('stg_lake__attributes') }}
    where is_ok
),

latest as (
    select *
    from attributes
    qualify row_number() over (partition by pair_id order by annotated_at desc, annotator_model) = 1
),

final as (
    select
        pair_id,
        task_category,
        objectivity,
        controversiality,
        (len({{ sql_list(var('allowed_task_categories')) }}) > 0
            and not list_contains({{ sql_list(var('allowed_task_categories')) }}, coalesce(task_category, '')))
            or list_contains({{ sql_list(var('dropped_task_categories')) }}, coalesce(task_category, ''))
            as is_task_category_filtered,
        len({{ sql_list(var('allowed_objectivity')) }}) > 0
            and not list_contains({{ sql_list(var('allowed_objectivity')) }}, coalesce(objectivity, ''))
            as is_objectivity_filtered,
        list_contains({{ sql_list(var('dropped_controversiality')) }}, coalesce(controversiality, ''))
            as is_controversiality_filtered
    from latest
)

select * from final

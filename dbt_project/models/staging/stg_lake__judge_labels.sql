with

source as (
    select * from {{ source('lake', 'judge_labels') }}
),

final as (
    select
        pair_id,
        round,
        model as judge_model,
        template_version,
        sample,
        is_chosen_shown_first,
        lower(trim(vote)) as vote,
        lower(trim(vote)) in ('chosen', 'rejected') as is_valid,
        n_demonstrations,
        judged_at
    from source
)

select * from final

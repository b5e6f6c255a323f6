with

source as (
    select * from {{ source('lake', 'judge_gates') }}
),

final as (
    select
        round,
        model as judge_model,
        template_version,
        n_gold,
        accuracy,
        accuracy_chosen_first,
        accuracy_chosen_second,
        position_bias,
        threshold,
        is_trusted,
        measured_at
    from source
)

select * from final

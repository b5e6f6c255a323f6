with

source as (
    select * from {{ source('lake', 'human_labels') }}
),

final as (
    select
        label_id,
        pair_id,
        round,
        annotator,
        lower(trim(verdict)) as verdict,
        lower(trim(verdict)) = 'discard' as is_discard,
        is_chosen_shown_first,
        origin,
        labeled_at
    from source
)

select * from final

with

source as (
    select * from {{ source('lake', 'annotator_agreement') }}
),

final as (
    select round, scope, metric, annotator_a, annotator_b, n_pairs, value, ci_low, ci_high, computed_at
    from source
)

select * from final

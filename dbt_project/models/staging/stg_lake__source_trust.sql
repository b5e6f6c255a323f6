with

source as (
    select * from {{ source('lake', 'source_trust') }}
),

final as (
    select
        round,
        source_kind,
        source_id,
        nullif(role, '') as role,
        n,
        n_correct,
        accuracy,
        ci_low,
        ci_high,
        first_shown_share,
        both_orders_consistency,
        accuracy_longer_rejected,
        n_longer_rejected,
        longer_wins_agreement,
        measured_on,
        label_basis,
        measured_at
    from source
)

select * from final

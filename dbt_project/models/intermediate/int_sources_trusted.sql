-- Which label sources may vote this round: each source's latest measurement up to var round
-- (per kind, id and role), and the one trust rule (macros/rules.sql is_trusted_expr) over it.
with

measured as (
    select * from {{ ref('stg_lake__source_trust') }}
    where round <= {{ var('round') }}
),

latest as (
    select *
    from measured
    qualify row_number() over (
        partition by source_kind, source_id, coalesce(role, '') order by round desc, measured_at desc
    ) = 1
),

final as (
    select
        *,
        coalesce({{ is_trusted_expr(var('trust_min_lower'), var('trust_min_n'), var('trust_max_position_bias')) }}, false)
            as is_trusted
    from latest
)

select * from final

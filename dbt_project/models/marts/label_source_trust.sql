-- Every label source the round could use, its measurement on gold, and whether it may vote:
-- what the report's trust table shows and what an analyst checks before believing a decision.
with

trusted as (
    select * from {{ ref('int_sources_trusted') }}
),

selected as (
    select run_id, rm_role from {{ ref('int_rm_runs_selected') }}
),

final as (
    select
        {{ var('round') }}::integer as round,
        trusted.source_kind,
        trusted.source_id,
        trusted.role,
        trusted.round as measured_in_round,
        trusted.n,
        trusted.accuracy,
        trusted.ci_low,
        trusted.ci_high,
        trusted.first_shown_share,
        trusted.both_orders_consistency,
        trusted.accuracy_longer_rejected,
        trusted.longer_wins_agreement,
        trusted.label_basis,
        trusted.measured_on,
        trusted.is_trusted,
        selected.rm_role is not null as plays_role_this_round
    from trusted
    left join selected on selected.run_id = trusted.source_id and selected.rm_role = trusted.role
)

select * from final

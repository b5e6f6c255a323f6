-- Which reward-model run plays the gold RM and which the best RM this round, and whether it is
-- trusted. The round's steps record each role as a source_trust row; the run of a role is the
-- row with that role and the greatest round up to var round (pipelines/trust/roles.py reads
-- the same rows the same way). The vars gold_rm_run / best_rm_run pin a run instead; a pinned
-- run is trusted only if it was measured in that role.
with

trusted as (
    select * from {{ ref('int_sources_trusted') }}
    where source_kind = 'rm'
),

roles as (
    select 'gold' as rm_role, {{ sql_str(var('gold_rm_run')) }} as pinned_run_id
    union all
    select 'best', {{ sql_str(var('best_rm_run')) }}
),

latest as (
    select role as rm_role, source_id as run_id
    from trusted
    where role in ('gold', 'best')
    qualify row_number() over (partition by role order by round desc, measured_at desc, source_id desc) = 1
),

chosen as (
    select
        roles.rm_role,
        coalesce(roles.pinned_run_id, latest.run_id) as run_id,
        roles.pinned_run_id is not null as is_pinned
    from roles
    left join latest using (rm_role)
    where coalesce(roles.pinned_run_id, latest.run_id) is not null
),

final as (
    select
        chosen.*,
        coalesce(trusted.is_trusted, false) as is_trusted,
        trusted.n as trust_n,
        trusted.accuracy as trust_accuracy,
        trusted.ci_low as trust_ci_low,
        trusted.ci_high as trust_ci_high
    from chosen
    left join trusted on trusted.source_id = chosen.run_id and trusted.role = chosen.rm_role
)

select * from final

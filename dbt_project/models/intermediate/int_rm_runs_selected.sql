-- Which reward-model run plays the gold RM and which the best RM this round: the vars
-- gold_rm_run / best_rm_run, else the latest rm_runs row with that role up to this round.
with

runs as (
    select * from {{ ref('stg_lake__rm_runs') }}
),

roles as (
    select 'gold' as rm_role, {{ sql_str(var('gold_rm_run')) }} as pinned_run_id
    union all
    select 'best', {{ sql_str(var('best_rm_run')) }}
),

latest as (
    select role as rm_role, run_id
    from runs
    where role in ('gold', 'best') and coalesce(round, 0) <= {{ var('round') }}
    qualify row_number() over (partition by role order by created_at desc, run_id desc) = 1
),

final as (
    select
        roles.rm_role,
        coalesce(roles.pinned_run_id, latest.run_id) as run_id,
        roles.pinned_run_id is not null as is_pinned
    from roles
    left join latest using (rm_role)
    where coalesce(roles.pinned_run_id, latest.run_id) is not null
)

select * from final

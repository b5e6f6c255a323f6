-- The funnel of this round by source and task category: pairs in, pairs per reason code,
-- and pairs per decision (a pair counts once under each reason that applied to it); and the
-- decontamination hits: contaminated pairs per benchmark (the first hit's) and per rule.
with

curated as (
    select * from {{ ref('curated_pairs') }}
),

pairs_in as (
    select round, source, task_category, 'in' as step_kind, 'in' as step, count(*) as n_pairs
    from curated
    group by all
),

per_reason as (
    select round, source, task_category, 'reason' as step_kind, reason as step, count(*) as n_pairs
    from (select round, source, task_category, unnest(reasons) as reason from curated)
    group by all
),

per_decision as (
    select round, source, task_category, 'decision' as step_kind, decision as step, count(*) as n_pairs
    from curated
    group by all
),

per_benchmark as (
    select round, source, task_category, 'contaminated_by' as step_kind, contaminated_by as step, count(*) as n_pairs
    from curated
    where is_contaminated
    group by all
),

per_rule as (
    select
        round, source, task_category, 'contamination_rule' as step_kind, contamination_rule as step,
        count(*) as n_pairs
    from curated
    where is_contaminated
    group by all
),

final as (
    select * from pairs_in
    union all
    select * from per_benchmark
    union all
    select * from per_rule
    union all
    select * from per_reason
    union all
    select * from per_decision
)

select * from final

-- Reward-model accuracy on the gold set of this round, per run and task category (plus
-- "all"): a run is right on a gold pair when its margin has the sign of the human majority.
with

runs as (
    select * from {{ ref('stg_lake__rm_runs') }}
),

scores as (
    select * from {{ ref('stg_lake__rm_scores') }}
    qualify row_number() over (partition by run_id, pair_id order by scored_at desc) = 1
),

gold as (
    select * from {{ ref('gold_set') }}
    where human_status in ('agree', 'disagree')
),

scored as (
    select
        scores.run_id,
        gold.task_category,
        (scores.margin > 0) = (gold.human_status = 'agree') as is_correct,
        scores.margin
    from scores
    inner join gold using (pair_id)
),

per_category as (
    select run_id, task_category, count(*) as n_gold, avg(is_correct::double) as accuracy, avg(margin) as mean_margin
    from scored
    group by all
),

overall as (
    select run_id, 'all' as task_category, count(*) as n_gold, avg(is_correct::double) as accuracy, avg(margin) as mean_margin
    from scored
    group by all
),

final as (
    select
        {{ var('round') }}::integer as round,
        metrics.run_id,
        runs.role,
        runs.round as run_round,
        metrics.task_category,
        metrics.n_gold,
        metrics.accuracy,
        metrics.mean_margin
    from (select * from per_category union all select * from overall) as metrics
    left join runs using (run_id)
)

select * from final

-- Reward-model margins per pair under the gold RM and the best RM, and whether each agrees
-- with the stored label: margin above var <role>_rm_margin agrees, below minus it disagrees.
with

selected as (
    select * from {{ ref('int_rm_runs_selected') }}
),

scores as (
    select * from {{ ref('stg_lake__rm_scores') }}
),

pivoted as (
    -- One aggregation instead of a window: the latest score of each run wins (arg_max by scored_at).
    select
        scores.pair_id,
        arg_max(scores.margin, scores.scored_at) filter (where selected.rm_role = 'gold') as gold_rm_margin,
        arg_max(scores.p, scores.scored_at) filter (where selected.rm_role = 'gold') as gold_rm_p,
        arg_max(scores.margin, scores.scored_at) filter (where selected.rm_role = 'best') as best_rm_margin,
        arg_max(scores.p, scores.scored_at) filter (where selected.rm_role = 'best') as best_rm_p
    from scores
    inner join selected using (run_id)
    group by scores.pair_id
),

final as (
    select
        *,
        case
            when gold_rm_margin is null then 'missing'
            when gold_rm_margin > {{ var('gold_rm_margin') }} then 'agree'
            when gold_rm_margin < -{{ var('gold_rm_margin') }} then 'disagree'
            else 'uncertain'
        end as gold_rm_status,
        case
            when best_rm_margin is null then 'missing'
            when best_rm_margin > {{ var('best_rm_margin') }} then 'agree'
            when best_rm_margin < -{{ var('best_rm_margin') }} then 'disagree'
            else 'uncertain'
        end as best_rm_status
    from pivoted
)

select * from final

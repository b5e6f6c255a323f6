-- Reward-model margins per pair under the gold RM and the best RM, and whether each agrees
-- with the stored label: margin above var <role>_rm_margin agrees, below minus it disagrees.
with

selected as (
    select * from {{ ref('int_rm_runs_selected') }}
),

scores as (
    select * from {{ ref('stg_lake__rm_scores') }}
),

latest_scores as (
    select selected.rm_role, scores.pair_id, scores.margin, scores.p
    from scores
    inner join selected using (run_id)
    qualify row_number() over (partition by scores.run_id, scores.pair_id order by scores.scored_at desc) = 1
),

pivoted as (
    select
        pair_id,
        max(margin) filter (where rm_role = 'gold') as gold_rm_margin,
        max(p) filter (where rm_role = 'gold') as gold_rm_p,
        max(margin) filter (where rm_role = 'best') as best_rm_margin,
        max(p) filter (where rm_role = 'best') as best_rm_p
    from latest_scores
    group by pair_id
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

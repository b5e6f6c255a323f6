-- Reward-model margins per pair under the gold RM and the best RM, and whether each agrees
-- with the stored label: margin above var <role>_rm_margin agrees, below minus it disagrees.
-- *_rm_evidence is that status whatever the RM's trust; *_rm_status is it only for a trusted
-- RM ('untrusted' otherwise), and only a status can decide.
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

trust as (
    select
        coalesce(bool_or(is_trusted) filter (where rm_role = 'gold'), false) as is_gold_rm_trusted,
        coalesce(bool_or(is_trusted) filter (where rm_role = 'best'), false) as is_best_rm_trusted
    from selected
),

evidence as (
    select
        pivoted.*,
        trust.is_gold_rm_trusted,
        trust.is_best_rm_trusted,
        case
            when gold_rm_margin is null then 'missing'
            when gold_rm_margin > {{ var('gold_rm_margin') }} then 'agree'
            when gold_rm_margin < -{{ var('gold_rm_margin') }} then 'disagree'
            else 'uncertain'
        end as gold_rm_evidence,
        case
            when best_rm_margin is null then 'missing'
            when best_rm_margin > {{ var('best_rm_margin') }} then 'agree'
            when best_rm_margin < -{{ var('best_rm_margin') }} then 'disagree'
            else 'uncertain'
        end as best_rm_evidence
    from pivoted
    cross join trust
),

final as (
    select
        *,
        case when gold_rm_evidence = 'missing' or is_gold_rm_trusted then gold_rm_evidence else 'untrusted' end
            as gold_rm_status,
        case when best_rm_evidence = 'missing' or is_best_rm_trusted then best_rm_evidence else 'untrusted' end
            as best_rm_status
    from evidence
)

select * from final

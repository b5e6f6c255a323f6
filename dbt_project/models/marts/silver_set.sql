-- The silver set: pairs with a decided vote of trusted LLM judges up to this round, and the
-- orientation the judges support (as stored, or flipped).
with

judges as (
    select * from {{ ref('int_judge_votes_aggregated') }}
),

signals as (
    select pair_id, task_category, source, human_status from {{ ref('int_pairs_signals') }}
),

final as (
    select
        {{ var('round') }}::integer as round,
        judges.pair_id,
        signals.source,
        coalesce(signals.task_category, 'unknown') as task_category,
        judges.judge_status,
        judges.judge_status = 'disagree' as is_flipped_by_judges,
        judges.chosen_share,
        judges.n_votes,
        judges.judge_models,
        judges.last_round,
        coalesce(signals.human_status, 'missing') not in ('missing', 'discarded') as is_gold,
        'llm-judge' as label_provenance
    from judges
    left join signals using (pair_id)
    where judges.judge_status in ('agree', 'disagree')
)

select * from final

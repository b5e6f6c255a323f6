-- The curation decision of each pair for this round (var round, var stage), with every
-- reason code that applied. Pre-filter failures drop; a human majority decides gold pairs;
-- Stage 1 keeps what no evidence contradicts; Stage 2 keeps a pair iff the gold RM agrees
-- and (the trusted judges or the best RM) agree, and flips (recycles) the rest.
with

signals as (
    select * from {{ ref('int_pairs_signals') }}
),

filtered as (
    select
        *,
        list_filter([
            case when is_tie then 'tie' end,
            case when is_exact_duplicate then 'exact_duplicate' end,
            case when is_conflict then 'conflict' end,
            case when is_empty_side then 'empty_side' end,
            case when is_identical then 'identical_responses' end,
            case when is_truncated then 'truncated_response' end,
            case when is_extreme_length_ratio then 'extreme_length_ratio' end,
            case when is_contaminated then 'contaminated' end,
            case when is_near_duplicate then 'near_duplicate' end,
            case when is_task_category_filtered then 'task_category_filtered' end,
            case when is_objectivity_filtered then 'objectivity_filtered' end,
            case when is_controversiality_filtered then 'controversiality_filtered' end,
            case when human_status = 'discarded' then 'human_discarded' end
        ], r -> r is not null) as filter_reasons,
        list_filter([
            case when human_status in ('agree', 'disagree', 'uncertain') then 'human_' || human_status end,
            case when judge_status <> 'missing' then 'judges_' || judge_status end,
            case when gold_rm_status <> 'missing' or {{ var('stage') }} = 2 then 'gold_rm_' || gold_rm_status end,
            case when best_rm_status <> 'missing' then 'best_rm_' || best_rm_status end,
            case when precheck_status <> 'missing' then 'precheck_' || precheck_status end
        ], r -> r is not null) as evidence_reasons
    from signals
),

decided as (
    select
        *,
        case
            when len(filter_reasons) > 0 then 'drop'
            when human_status = 'agree' then 'keep'
            when human_status = 'disagree' then 'flip'
            when human_status = 'uncertain' then 'drop'
            {%- if var('stage') | int == 1 %}
            when 'disagree' in (judge_status, gold_rm_status, best_rm_status, precheck_status) then '{{ var("stage1_on_disagreement") }}'
            else 'keep'
            {%- else %}
            when gold_rm_status = 'missing' then '{{ var("stage2_missing_gold_rm") }}'
            when gold_rm_status = 'agree' and 'agree' in (judge_status, best_rm_status) then 'keep'
            else 'flip'
            {%- endif %}
        end as decision
    from filtered
),

final as (
    select
        {{ var('round') }}::integer as round,
        {{ var('stage') }}::integer as stage,
        pair_id,
        prompt_id,
        source,
        task_category,
        decision,
        list_concat(filter_reasons, evidence_reasons) as reasons,
        case
            when decision = 'drop' then null
            when human_status in ('agree', 'disagree') then 'human'
            when (decision = 'keep' and judge_status = 'agree') or (decision = 'flip' and judge_status = 'disagree')
                then 'llm-judge'
            when decision = 'keep' and 'agree' in (gold_rm_status, best_rm_status) then 'rm'
            when decision = 'flip' and 'disagree' in (gold_rm_status, best_rm_status) then 'rm'
            else 'original'
        end as label_provenance,
        case decision
            when 'keep' then coalesce(best_rm_margin, gold_rm_margin)
            when 'flip' then -coalesce(best_rm_margin, gold_rm_margin)
        end as margin,
        duplicate_of,
        contaminated_by,
        cluster_id,
        is_conflict,
        is_contaminated,
        is_exact_duplicate,
        chosen_hash,
        rejected_hash,
        human_status,
        judge_status,
        gold_rm_status,
        best_rm_status,
        precheck_status,
        gold_rm_margin,
        best_rm_margin
    from decided
)

select * from final

-- The curation decision of each pair for this round (var round, var stage), with every
-- reason code that applied and the rule that decided (decision_rule). Only trusted sources
-- vote (int_sources_trusted); untrusted ones appear in reasons as <source>_untrusted_<what it
-- said>. Pre-filter failures drop; a human majority decides gold pairs; Stage 1 keeps what no
-- trusted evidence contradicts; Stage 2 keeps a pair when the trusted gold RM and (trusted
-- judges or the trusted best RM) agree with its label, flips it when they both disagree,
-- applies var stage2_on_mixed when they conflict, and, with no trusted gold RM, lets trusted
-- judges decide or keeps the label as unverified (provenance original).
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
            case when judge_status = 'untrusted' then 'judges_untrusted_' || judge_evidence
                 when judge_status <> 'missing' then 'judges_' || judge_status end,
            case when gold_rm_status = 'untrusted' then 'gold_rm_untrusted_' || gold_rm_evidence
                 when gold_rm_status <> 'missing' or {{ var('stage') }} = 2 then 'gold_rm_' || gold_rm_status end,
            case when best_rm_status = 'untrusted' then 'best_rm_untrusted_' || best_rm_evidence
                 when best_rm_status <> 'missing' then 'best_rm_' || best_rm_status end,
            case when precheck_status = 'untrusted' then 'precheck_untrusted_' || precheck_evidence
                 when precheck_status <> 'missing' then 'precheck_' || precheck_status end
        ], r -> r is not null) as evidence_reasons
    from signals
),

ruled as (
    -- Which rule decided the pair. Only trusted sources have a status other than 'untrusted' or
    -- 'missing', so no branch below can act on an untrusted source (tests/assert_no_decision_on_untrusted_evidence).
    select
        *,
        case
            when len(filter_reasons) > 0 then 'filter'
            when human_status = 'agree' then 'human_agree'
            when human_status = 'disagree' then 'human_disagree'
            when human_status = 'uncertain' then 'human_split'
            {%- if var('stage') | int == 1 %}
            when judge_status = 'disagree' then 'judges_disagree'
            when 'disagree' in (gold_rm_status, best_rm_status) then 'rm_disagree'
            when precheck_status = 'disagree' then 'precheck_disagree'
            when judge_status = 'agree' then 'judges_agree'
            when 'agree' in (gold_rm_status, best_rm_status) then 'rm_agree'
            else 'uncontradicted'
            {%- else %}
            when gold_rm_status = 'missing' and is_gold_rm_trusted then 'gold_rm_missing'
            when gold_rm_status not in ('agree', 'disagree', 'uncertain') then
                case judge_status when 'agree' then 'judges_agree' when 'disagree' then 'judges_disagree'
                                  else 'no_trusted_gold_rm' end
            when gold_rm_status = 'agree' and judge_status = 'agree' then 'gold_rm_and_judges_agree'
            when gold_rm_status = 'agree' and best_rm_status = 'agree' then 'gold_and_best_rm_agree'
            when gold_rm_status = 'disagree' and judge_status = 'disagree' and best_rm_status <> 'agree'
                then 'gold_rm_and_judges_disagree'
            when gold_rm_status = 'disagree' and best_rm_status = 'disagree' and judge_status <> 'agree'
                then 'gold_and_best_rm_disagree'
            when judge_status not in ('agree', 'disagree', 'uncertain')
                 and best_rm_status not in ('agree', 'disagree', 'uncertain') then 'one_trusted_source'
            else 'mixed'
            {%- endif %}
        end as decision_rule
    from filtered
),

decided as (
    select
        *,
        case decision_rule
            when 'filter' then 'drop'
            when 'human_agree' then 'keep'
            when 'human_disagree' then 'flip'
            when 'human_split' then 'drop'
            when 'judges_disagree' then '{{ var("stage1_on_disagreement") }}'
            when 'rm_disagree' then '{{ var("stage1_on_disagreement") }}'
            when 'precheck_disagree' then '{{ var("stage1_on_disagreement") }}'
            when 'gold_rm_missing' then '{{ var("stage2_missing_gold_rm") }}'
            when 'gold_rm_and_judges_disagree' then 'flip'
            when 'gold_and_best_rm_disagree' then 'flip'
            when 'mixed' then '{{ var("stage2_on_mixed") }}'
            else 'keep'
        end as decision,
        case decision_rule
            when 'human_agree' then 'human'
            when 'human_disagree' then 'human'
            when 'judges_agree' then 'llm-judge'
            when 'judges_disagree' then 'llm-judge'
            when 'gold_rm_and_judges_agree' then 'llm-judge'
            when 'gold_rm_and_judges_disagree' then 'llm-judge'
            when 'rm_agree' then 'rm'
            when 'rm_disagree' then 'rm'
            when 'gold_and_best_rm_agree' then 'rm'
            when 'gold_and_best_rm_disagree' then 'rm'
            else 'original'
        end as decided_provenance
    from ruled
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
        decision_rule,
        case when decision <> 'drop' then decided_provenance end as label_provenance,
        case decision  -- margins of trusted RMs only: a trainer may weight its loss by them
            when 'keep' then coalesce(case when is_best_rm_trusted then best_rm_margin end,
                                      case when is_gold_rm_trusted then gold_rm_margin end)
            when 'flip' then -coalesce(case when is_best_rm_trusted then best_rm_margin end,
                                       case when is_gold_rm_trusted then gold_rm_margin end)
        end as margin,
        duplicate_of,
        contaminated_by,
        contaminated_prompt_id,
        contaminated_item,
        contamination_rule,
        contamination_match,
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
        judge_evidence,
        gold_rm_evidence,
        best_rm_evidence,
        precheck_evidence,
        is_gold_rm_trusted,
        is_best_rm_trusted,
        gold_rm_margin,
        best_rm_margin
    from decided
)

select * from final

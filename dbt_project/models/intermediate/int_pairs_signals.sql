-- Every curation signal of a pair in one row: pre-filter flags and the agreement status of
-- each label source and of the pre-checks. *_status is the vote of trusted sources only
-- (agree | disagree | uncertain | missing | untrusted; humans also: discarded); *_evidence is
-- what every source said, trusted or not, kept to be seen and never to decide.
with

pairs as (select * from {{ ref('int_pairs_normalised') }}),
duplicates as (select * from {{ ref('int_pairs_deduplicated') }}),
conflicts as (select * from {{ ref('int_pairs_conflicted') }}),
degenerates as (select * from {{ ref('int_pairs_degenerates_flagged') }}),
contaminated as (select * from {{ ref('int_prompts_decontaminated') }}),
near_dups as (select * from {{ ref('int_pairs_near_deduplicated') }}),
attributes as (select * from {{ ref('int_pairs_attributes_filtered') }}),
humans as (select * from {{ ref('int_human_labels_aggregated') }}),
judges as (select * from {{ ref('int_judge_votes_aggregated') }}),
margins as (select * from {{ ref('int_pairs_rm_margins') }}),
prechecks as (select * from {{ ref('int_pairs_prechecked') }}),
rm_trust as (
    select
        coalesce(bool_or(is_trusted) filter (where rm_role = 'gold'), false) as is_gold_rm_trusted,
        coalesce(bool_or(is_trusted) filter (where rm_role = 'best'), false) as is_best_rm_trusted
    from {{ ref('int_rm_runs_selected') }}
),

final as (
    select
        pairs.pair_id,
        pairs.prompt_id,
        pairs.source,
        coalesce(attributes.task_category, lower(pairs.source_category), 'unknown') as task_category,
        pairs.label_origin,
        pairs.chosen_hash,
        pairs.rejected_hash,
        pairs.is_tie,
        duplicates.is_exact_duplicate,
        duplicates.duplicate_of,
        conflicts.pair_id is not null as is_conflict,
        degenerates.is_empty_side,
        degenerates.is_identical,
        degenerates.is_truncated,
        degenerates.is_extreme_length_ratio,
        contaminated.prompt_id is not null as is_contaminated,
        contaminated.contaminated_by,
        contaminated.contaminated_prompt_id,
        contaminated.contaminated_item,
        contaminated.contamination_rule,
        contaminated.contamination_match,
        coalesce(near_dups.is_near_duplicate, false) as is_near_duplicate,
        near_dups.cluster_id,
        coalesce(attributes.is_task_category_filtered, false) as is_task_category_filtered,
        coalesce(attributes.is_objectivity_filtered, false) as is_objectivity_filtered,
        coalesce(attributes.is_controversiality_filtered, false) as is_controversiality_filtered,
        coalesce(humans.human_status, 'missing') as human_status,
        coalesce(humans.n_labels, 0) as n_human_labels,
        humans.agreement as human_agreement,
        coalesce(judges.judge_status, 'missing') as judge_status,
        coalesce(judges.judge_evidence, 'missing') as judge_evidence,
        coalesce(judges.n_votes, 0) as n_judge_votes,
        judges.chosen_share as judge_chosen_share,
        coalesce(margins.gold_rm_status, 'missing') as gold_rm_status,
        coalesce(margins.gold_rm_evidence, 'missing') as gold_rm_evidence,
        margins.gold_rm_margin,
        coalesce(margins.best_rm_status, 'missing') as best_rm_status,
        coalesce(margins.best_rm_evidence, 'missing') as best_rm_evidence,
        margins.best_rm_margin,
        rm_trust.is_gold_rm_trusted,
        rm_trust.is_best_rm_trusted,
        coalesce(prechecks.precheck_status, 'missing') as precheck_status,
        coalesce(prechecks.precheck_evidence, 'missing') as precheck_evidence
    from pairs
    left join duplicates using (pair_id)
    left join conflicts using (pair_id)
    left join degenerates using (pair_id)
    left join contaminated on contaminated.prompt_id = pairs.prompt_id
    left join near_dups using (pair_id)
    left join attributes using (pair_id)
    left join humans using (pair_id)
    left join judges using (pair_id)
    left join margins using (pair_id)
    left join prechecks using (pair_id)
    cross join rm_trust
)

select * from final

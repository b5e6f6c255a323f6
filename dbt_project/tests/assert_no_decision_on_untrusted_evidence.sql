-- No pair is kept as verified, dropped or flipped on the word of an untrusted source: every
-- decision other than an unverified keep rests on a pre-filter, the humans, or a status that
-- only a trusted source can have (int_sources_trusted). Rows returned are violations.
with

curated as (
    select * from {{ ref('curated_pairs') }}
),

trusted_vote as (
    select
        *,
        judge_status in ('agree', 'disagree', 'uncertain') as has_judge_vote,
        is_gold_rm_trusted and gold_rm_status in ('agree', 'disagree', 'uncertain') as has_gold_rm_vote,
        is_best_rm_trusted and best_rm_status in ('agree', 'disagree', 'uncertain') as has_best_rm_vote,
        precheck_status in ('agree', 'disagree', 'uncertain') as has_precheck_vote
    from curated
)

select pair_id, decision, decision_rule, label_provenance, reasons
from trusted_vote
where
    -- a label credited to judges or RMs without a trusted vote of theirs
    (label_provenance = 'llm-judge' and not has_judge_vote)
    or (label_provenance = 'rm' and not (has_gold_rm_vote or has_best_rm_vote))
    -- a drop or flip that is neither a filter nor human nor backed by any trusted vote
    or (decision in ('drop', 'flip')
        and decision_rule not in ('filter', 'human_disagree', 'human_split', 'gold_rm_missing')
        and not (has_judge_vote or has_gold_rm_vote or has_best_rm_vote or has_precheck_vote))
    -- a Stage-2 flip on the RM rule needs both trusted RM votes against the label
    or (decision_rule = 'gold_and_best_rm_disagree' and not (has_gold_rm_vote and has_best_rm_vote))
    or (decision_rule = 'gold_rm_missing' and not is_gold_rm_trusted)

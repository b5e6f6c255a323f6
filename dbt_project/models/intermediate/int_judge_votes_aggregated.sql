-- LLM judge votes per pair up to this round. judge_evidence pools every valid vote of every
-- judge (evidence only). judge_status merges the votes of the judges int_sources_trusted
-- trusts (model + template) by var judge_merge, and is 'untrusted' where only untrusted
-- judges voted:
--   pooled     every valid vote in one pot: one side needs more than var judge_majority of
--              them, from at least var judge_min_votes votes (the default)
--   majority   each judge's own verdict first (the majority of its samples; none on a tie),
--              then more judges for one side than for the other
--   unanimous  every trusted judge that voted reached a verdict, and all agree
--   any        the judges that reached a verdict agree (a judge without one abstains)
-- pipelines.annotate.judge.merge_votes applies the same rules; the unit tests judge_merge_* of
-- silver_set.yml pin both to the same answers (tests/annotate/test_judge_merge.py).
{% set rule = var('judge_merge') %}
{% if rule not in ['pooled', 'majority', 'unanimous', 'any'] %}
    {{ exceptions.raise_compiler_error("var judge_merge must be pooled, majority, unanimous or any, got " ~ rule) }}
{% endif %}
with

trusted as (
    select source_id from {{ ref('int_sources_trusted') }}
    where source_kind = 'judge' and is_trusted
),

votes as (
    select
        *,
        judge_model || '|' || template_version in (select source_id from trusted) as is_trusted_judge
    from {{ ref('stg_lake__judge_labels') }}
    where round <= {{ var('round') }} and is_valid
),

per_judge as (
    select
        pair_id,
        judge_model,
        template_version,
        bool_or(is_trusted_judge) as is_trusted_judge,
        count(*) filter (where vote = 'chosen') as n_chosen,
        count(*) filter (where vote = 'rejected') as n_rejected
    from votes
    group by pair_id, judge_model, template_version
),

judges as (
    select
        pair_id,
        count(*) filter (where is_trusted_judge) as n_judges,
        count(*) filter (where is_trusted_judge and n_chosen > n_rejected) as n_judges_chosen,
        count(*) filter (where is_trusted_judge and n_rejected > n_chosen) as n_judges_rejected
    from per_judge
    group by pair_id
),

counted as (
    select
        pair_id,
        count(*) as n_votes_all,
        count(*) filter (where vote = 'chosen') as n_chosen_all,
        count(*) filter (where vote = 'rejected') as n_rejected_all,
        count(*) filter (where is_trusted_judge) as n_votes,
        count(*) filter (where is_trusted_judge and vote = 'chosen') as n_chosen,
        count(*) filter (where is_trusted_judge and vote = 'rejected') as n_rejected,
        list(distinct judge_model order by judge_model) filter (where is_trusted_judge) as judge_models,
        list(distinct judge_model order by judge_model) as judge_models_all,
        max(round) as last_round
    from votes
    group by pair_id
),

final as (
    select
        counted.*,
        judges.n_judges,
        judges.n_judges_chosen,
        judges.n_judges_rejected,
        '{{ rule }}' as judge_merge,
        n_chosen / nullif(n_votes, 0) as chosen_share,
        case
            when n_votes_all < {{ var('judge_min_votes') }} then 'uncertain'
            when n_chosen_all / n_votes_all > {{ var('judge_majority') }} then 'agree'
            when n_rejected_all / n_votes_all > {{ var('judge_majority') }} then 'disagree'
            else 'uncertain'
        end as judge_evidence,
        case
            when n_votes = 0 then 'untrusted'
        {%- if rule == 'pooled' %}
            when n_votes < {{ var('judge_min_votes') }} then 'uncertain'
            when n_chosen / n_votes > {{ var('judge_majority') }} then 'agree'
            when n_rejected / n_votes > {{ var('judge_majority') }} then 'disagree'
        {%- elif rule == 'majority' %}
            when n_judges_chosen > n_judges_rejected then 'agree'
            when n_judges_rejected > n_judges_chosen then 'disagree'
        {%- elif rule == 'unanimous' %}
            when n_judges_chosen = n_judges then 'agree'
            when n_judges_rejected = n_judges then 'disagree'
        {%- else %}
            when n_judges_chosen > 0 and n_judges_rejected = 0 then 'agree'
            when n_judges_rejected > 0 and n_judges_chosen = 0 then 'disagree'
        {%- endif %}
            else 'uncertain'
        end as judge_status
    from counted
    left join judges using (pair_id)
)

select * from final

-- LLM judge votes per pair up to this round, pooled across samples and models; one side
-- needs more than var judge_majority of them. judge_evidence pools every valid vote (evidence
-- only); judge_status pools the votes of judges int_sources_trusted trusts (model + template),
-- and is 'untrusted' where only untrusted judges voted.
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
        *,
        n_chosen / nullif(n_votes, 0) as chosen_share,
        case
            when n_votes_all < {{ var('judge_min_votes') }} then 'uncertain'
            when n_chosen_all / n_votes_all > {{ var('judge_majority') }} then 'agree'
            when n_rejected_all / n_votes_all > {{ var('judge_majority') }} then 'disagree'
            else 'uncertain'
        end as judge_evidence,
        case
            when n_votes = 0 then 'untrusted'
            when n_votes < {{ var('judge_min_votes') }} then 'uncertain'
            when n_chosen / n_votes > {{ var('judge_majority') }} then 'agree'
            when n_rejected / n_votes > {{ var('judge_majority') }} then 'disagree'
            else 'uncertain'
        end as judge_status
    from counted
)

select * from final

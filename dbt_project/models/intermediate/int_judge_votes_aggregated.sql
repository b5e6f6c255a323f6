-- LLM judge votes per pair up to this round, counting only (model, template) pairs that the
-- latest judge gate up to this round marks trusted; votes are pooled across samples and
-- models, and one side needs more than var judge_majority of them.
with

gates as (
    select * from {{ ref('stg_lake__judge_gates') }}
    where round <= {{ var('round') }}
),

votes as (
    select * from {{ ref('stg_lake__judge_labels') }}
    where round <= {{ var('round') }} and is_valid
),

trusted as (
    select judge_model, template_version
    from gates
    qualify row_number() over (partition by judge_model, template_version order by round desc, measured_at desc) = 1
        and is_trusted
),

counted as (
    select
        votes.pair_id,
        count(*) as n_votes,
        count(*) filter (where votes.vote = 'chosen') as n_chosen,
        count(*) filter (where votes.vote = 'rejected') as n_rejected,
        list(distinct votes.judge_model order by votes.judge_model) as judge_models,
        max(votes.round) as last_round
    from votes
    inner join trusted using (judge_model, template_version)
    group by votes.pair_id
),

final as (
    select
        *,
        n_chosen / n_votes as chosen_share,
        case
            when n_votes < {{ var('judge_min_votes') }} then 'uncertain'
            when n_chosen / n_votes > {{ var('judge_majority') }} then 'agree'
            when n_rejected / n_votes > {{ var('judge_majority') }} then 'disagree'
            else 'uncertain'
        end as judge_status
    from counted
)

select * from final

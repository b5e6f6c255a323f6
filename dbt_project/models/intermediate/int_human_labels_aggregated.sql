-- Human gold labels per pair up to this round: each annotator's latest verdict, majority
-- vote over chosen/rejected verdicts, and the majority's share (agreement).
with

labels as (
    select * from {{ ref('stg_lake__human_labels') }}
    where round <= {{ var('round') }}
),

latest_per_annotator as (
    select *
    from labels
    qualify row_number() over (partition by pair_id, annotator order by labeled_at desc, label_id desc) = 1
),

counted as (
    select
        pair_id,
        count(*) as n_labels,
        count(*) filter (where verdict = 'chosen') as n_chosen,
        count(*) filter (where verdict = 'rejected') as n_rejected,
        count(*) filter (where is_discard) as n_discard,
        list(distinct annotator order by annotator) as annotators,
        min(round) as first_round,
        max(round) as last_round
    from latest_per_annotator
    group by pair_id
),

final as (
    select
        *,
        greatest(n_chosen, n_rejected) / nullif(n_chosen + n_rejected, 0) as agreement,
        case
            when n_chosen + n_rejected = 0 then 'discarded'
            when n_chosen / (n_chosen + n_rejected) > {{ var('human_min_agreement') }} then 'agree'
            when n_rejected / (n_chosen + n_rejected) > {{ var('human_min_agreement') }} then 'disagree'
            else 'uncertain'
        end as human_status
    from counted
)

select * from final

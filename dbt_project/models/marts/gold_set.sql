-- The gold set: pairs with at least one non-discard human label up to this round, with the
-- majority verdict, its agreement and who labelled it.
with

humans as (
    select * from {{ ref('int_human_labels_aggregated') }}
),

signals as (
    select pair_id, task_category, source from {{ ref('int_pairs_signals') }}
),

final as (
    select
        {{ var('round') }}::integer as round,
        humans.pair_id,
        signals.source,
        coalesce(signals.task_category, 'unknown') as task_category,
        humans.human_status,
        case humans.human_status when 'agree' then 'chosen' when 'disagree' then 'rejected' else 'tie' end
            as majority_verdict,
        humans.agreement,
        humans.n_labels,
        humans.n_chosen,
        humans.n_rejected,
        humans.n_discard,
        humans.annotators,
        humans.first_round,
        humans.last_round,
        'human' as label_provenance
    from humans
    left join signals using (pair_id)
    where humans.n_chosen + humans.n_rejected > 0
)

select * from final

-- Agreement of the labellers up to this round: Cohen's kappa for each pair of annotators on
-- the pairs both labelled, Krippendorff's alpha (nominal) per task category over pairs with
-- two or more labels, and each judge model's accuracy against the human majority.
with

labels as (
    select * from {{ ref('stg_lake__human_labels') }}
    where round <= {{ var('round') }}
),

latest as (
    select pair_id, annotator, verdict
    from labels
    qualify row_number() over (partition by pair_id, annotator order by labeled_at desc, label_id desc) = 1
),

categories as (
    select pair_id, task_category from {{ ref('int_pairs_signals') }}
),

humans as (
    select * from {{ ref('int_human_labels_aggregated') }}
),

judge_votes as (
    select * from {{ ref('stg_lake__judge_labels') }}
    where round <= {{ var('round') }} and is_valid
),

-- Cohen's kappa ----------------------------------------------------------------------
shared as (
    select a.pair_id, a.annotator as rater_a, b.annotator as rater_b, a.verdict as verdict_a, b.verdict as verdict_b
    from latest as a
    inner join latest as b on a.pair_id = b.pair_id and a.annotator < b.annotator
),

observed as (
    select rater_a, rater_b, count(*) as n_items, avg((verdict_a = verdict_b)::double) as p_observed
    from shared
    group by all
),

marginal_a as (
    select rater_a, rater_b, verdict_a as verdict, count(*) as n from shared group by all
),

marginal_b as (
    select rater_a, rater_b, verdict_b as verdict, count(*) as n from shared group by all
),

chance as (
    select rater_a, rater_b, sum(marginal_a.n * marginal_b.n) as n_chance
    from marginal_a
    inner join marginal_b using (rater_a, rater_b, verdict)
    group by all
),

kappa as (
    select
        'cohen_kappa' as metric,
        'all' as task_category,
        rater_a,
        rater_b,
        n_items,
        (p_observed - p_chance) / nullif(1 - p_chance, 0) as value
    from (
        select observed.*, coalesce(chance.n_chance, 0) / (observed.n_items * observed.n_items) as p_chance
        from observed
        left join chance using (rater_a, rater_b)
    )
),

-- Krippendorff's alpha (nominal) ------------------------------------------------------
value_counts as (
    select latest.pair_id, coalesce(categories.task_category, 'unknown') as task_category, latest.verdict,
        count(*) as n_uc
    from latest
    left join categories using (pair_id)
    group by all
),

unit_counts as (
    select *, sum(n_uc) over (partition by pair_id) as m_u from value_counts
),

pairable as (
    select * from unit_counts where m_u >= 2
),

value_totals as (
    select task_category, verdict, sum(n_uc) as n_c from pairable group by all
),

disagreement as (
    select task_category, count(distinct pair_id) as n_items,
        sum(n_uc * (m_u - n_uc) / (m_u - 1)) as d_observed
    from pairable
    group by all
),

expected as (
    select task_category, sum(n_c) as n, sum(n_c) * sum(n_c) - sum(n_c * n_c) as d_pairs
    from value_totals
    group by all
),

alpha as (
    select
        'krippendorff_alpha' as metric,
        disagreement.task_category,
        null::varchar as rater_a,
        null::varchar as rater_b,
        disagreement.n_items,
        1 - (expected.n - 1) * disagreement.d_observed / nullif(expected.d_pairs, 0) as value
    from disagreement
    inner join expected using (task_category)
),

-- Judge accuracy against the human majority -------------------------------------------
judge_majority as (
    select pair_id, judge_model,
        count(*) filter (where vote = 'chosen') > count(*) filter (where vote = 'rejected') as says_chosen,
        count(*) filter (where vote = 'chosen') <> count(*) filter (where vote = 'rejected') as is_decided
    from judge_votes
    group by all
),

judge_accuracy as (
    select
        'judge_gold_accuracy' as metric,
        'all' as task_category,
        judge_majority.judge_model as rater_a,
        'human_majority' as rater_b,
        count(*) as n_items,
        avg((judge_majority.says_chosen = (humans.human_status = 'agree'))::double) as value
    from judge_majority
    inner join humans using (pair_id)
    where judge_majority.is_decided and humans.human_status in ('agree', 'disagree')
    group by all
),

final as (
    select {{ var('round') }}::integer as round, * from kappa
    union all
    select {{ var('round') }}::integer, * from alpha
    union all
    select {{ var('round') }}::integer, * from judge_accuracy
)

select * from final

{#- The curation rules written once. dbt models call these macros, and prefhouse's Python side
    renders the same text with Jinja (lake/rules.py) and runs it in DuckDB, so "gold" and
    "trusted" mean one thing everywhere. Keep them free of dbt built-ins: plain SQL over the
    arguments only. -#}

{#- The gold verdict of each pair: each annotator's latest label up to the round (a relabel
    replaces the earlier one), annotators measured untrusted left out (excluded_annotators_sql:
    a query of one varchar column), then the majority share
    of chosen / rejected verdicts among the rest. Discards count as labels but not as votes.
    human_status: agree | disagree (share strictly above min_agreement) | uncertain (a split)
    | discarded (no chosen / rejected vote left). -#}
{% macro gold_verdicts_sql(labels, round, min_agreement, excluded_annotators_sql) -%}
with

labels_in as (
    select * from {{ labels }}
    where round <= {{ round }}
      and annotator not in ({{ excluded_annotators_sql }})
),

latest_per_annotator as (
    select *
    from labels_in
    qualify row_number() over (partition by pair_id, annotator order by labeled_at desc, label_id desc) = 1
),

counted as (
    select
        pair_id,
        count(*) as n_labels,
        count(*) filter (where verdict = 'chosen') as n_chosen,
        count(*) filter (where verdict = 'rejected') as n_rejected,
        count(*) filter (where verdict = 'discard') as n_discard,
        list(distinct annotator order by annotator) as annotators,
        min(round) as first_round,
        max(round) as last_round
    from latest_per_annotator
    group by pair_id
)

select
    *,
    greatest(n_chosen, n_rejected) / nullif(n_chosen + n_rejected, 0) as agreement,
    case
        when n_chosen + n_rejected = 0 then 'discarded'
        when n_chosen / (n_chosen + n_rejected) > {{ min_agreement }} then 'agree'
        when n_rejected / (n_chosen + n_rejected) > {{ min_agreement }} then 'disagree'
        else 'uncertain'
    end as human_status,
    case
        when n_chosen + n_rejected = 0 then null
        when n_chosen / (n_chosen + n_rejected) > {{ min_agreement }} then 'chosen'
        when n_rejected / (n_chosen + n_rejected) > {{ min_agreement }} then 'rejected'
    end as verdict
from counted
{%- endmacro %}

{#- Whether a measured source may vote: the lower end of its 95% accuracy interval clears
    min_lower, it was measured on at least min_n gold pairs, and a judge's share of votes for
    the first-shown candidate lies within max_position_bias of 0.5. A boolean SQL expression
    over one source_trust row. -#}
{% macro is_trusted_expr(min_lower, min_n, max_position_bias) -%}
(
    n >= {{ min_n }}
    and ci_low >= {{ min_lower }}
    and (source_kind <> 'judge' or (first_shown_share is not null
         and abs(first_shown_share - 0.5) <= {{ max_position_bias }}))
)
{%- endmacro %}

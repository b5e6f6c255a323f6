-- LLM pre-checks of objective answers ("is this single response correct?"), latest verdict
-- per pair and side. The stored label is supported when the chosen response is judged right
-- and the rejected one wrong, contradicted in the opposite case, and uncertain otherwise.
-- precheck_evidence uses every model; precheck_status only models int_sources_trusted trusts
-- ('untrusted' where only untrusted models checked the pair).
with

trusted as (
    select source_id as precheck_model from {{ ref('int_sources_trusted') }}
    where source_kind = 'precheck' and is_trusted
),

prechecks as (
    select *, precheck_model in (select precheck_model from trusted) as is_trusted_model
    from {{ ref('stg_lake__prechecks') }}
),

latest_all as (
    select *
    from prechecks
    qualify row_number() over (partition by pair_id, side order by checked_at desc, precheck_model) = 1
),

-- One trusted model decides a pair, with its own latest verdict on each side: a model is measured
-- on gold pairs it checked on both sides (pipelines/trust/measure.py), so chosen from one model and
-- rejected from another would be a verdict nobody measured. The model that checked both sides comes
-- first, then the latest; a pair whose deciding model checked one side only is uncertain.
trusted_latest as (
    select *
    from prechecks
    where is_trusted_model
    qualify row_number() over (partition by pair_id, precheck_model, side order by checked_at desc) = 1
),

trusted_by_model as (
    select
        pair_id,
        precheck_model,
        bool_or(is_correct) filter (where side = 'chosen') as is_chosen_correct_trusted,
        bool_or(is_correct) filter (where side = 'rejected') as is_rejected_correct_trusted,
        count(distinct side) as n_sides,
        max(checked_at) as checked_at
    from trusted_latest
    group by pair_id, precheck_model
),

pivoted_trusted as (
    select pair_id, is_chosen_correct_trusted, is_rejected_correct_trusted
    from trusted_by_model
    qualify row_number() over (partition by pair_id order by n_sides desc, checked_at desc, precheck_model) = 1
),

pivoted as (
    select
        pair_id,
        bool_or(is_correct) filter (where side = 'chosen') as is_chosen_correct,
        bool_or(is_correct) filter (where side = 'rejected') as is_rejected_correct
    from latest_all
    group by pair_id
),

final as (
    select
        pivoted.*,
        case
            when is_chosen_correct and not is_rejected_correct then 'agree'
            when not is_chosen_correct and is_rejected_correct then 'disagree'
            else 'uncertain'
        end as precheck_evidence,
        case
            when pivoted_trusted.pair_id is null then 'untrusted'
            when is_chosen_correct_trusted and not is_rejected_correct_trusted then 'agree'
            when not is_chosen_correct_trusted and is_rejected_correct_trusted then 'disagree'
            else 'uncertain'
        end as precheck_status
    from pivoted
    left join pivoted_trusted using (pair_id)
)

select * from final

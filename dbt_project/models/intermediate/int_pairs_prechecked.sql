-- LLM pre-checks of objective answers ("is this single response correct?"), latest verdict
-- per pair and side. The stored label is supported when the chosen response is judged right
-- and the rejected one wrong, contradicted in the opposite case, and uncertain otherwise.
with

prechecks as (
    select * from {{ ref('stg_lake__prechecks') }}
),

latest as (
    select *
    from prechecks
    qualify row_number() over (partition by pair_id, side order by checked_at desc, precheck_model) = 1
),

pivoted as (
    select
        pair_id,
        bool_or(is_correct) filter (where side = 'chosen') as is_chosen_correct,
        bool_or(is_correct) filter (where side = 'rejected') as is_rejected_correct
    from latest
    group by pair_id
),

final as (
    select
        *,
        case
            when is_chosen_correct and not is_rejected_correct then 'agree'
            when not is_chosen_correct and is_rejected_correct then 'disagree'
            else 'uncertain'
        end as precheck_status
    from pivoted
)

select * from final

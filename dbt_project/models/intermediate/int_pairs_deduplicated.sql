-- Exact duplicates of (conversation, chosen, rejected) after normalisation: the first
-- ingested pair of each group is kept, the others point at it.
with

pairs as (
    select pair_id, dedup_key, ingested_at from {{ ref('int_pairs_normalised') }}
),

ranked as (
    select
        pair_id,
        row_number() over w as rank_in_group,
        first_value(pair_id) over w as kept_pair_id
    from pairs
    window w as (partition by dedup_key order by ingested_at, pair_id)
),

final as (
    select
        pair_id,
        rank_in_group > 1 as is_exact_duplicate,
        case when rank_in_group > 1 then kept_pair_id end as duplicate_of
    from ranked
)

select * from final

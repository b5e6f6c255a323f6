-- Conflicts: the same conversation and the same two responses with opposite labels.
-- Every pair of such a group is flagged; none is silently kept.
with

pairs as (
    select pair_id, pairset_key, orientation from {{ ref('int_pairs_normalised') }}
    where not is_tie
),

groups as (
    select pairset_key
    from pairs
    group by pairset_key
    having count(distinct orientation) > 1
),

final as (
    select
        pairs.pair_id,
        pairs.pairset_key as conflict_key
    from pairs
    inner join groups using (pairset_key)
)

select * from final

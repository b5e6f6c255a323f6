-- Near-duplicates from the embedding stage's prompt clusters. A cluster's representative is a pair
-- of its leader prompt; every pair of that same prompt stays (several pairs per prompt are distinct
-- preference signals, e.g. UltraFeedback's four responses), and the pairs of the other prompts of
-- the cluster (paraphrases of the leader) are flagged. The latest computation per pair counts.
with

neighbours as (
    select * from {{ ref('stg_lake__neighbours') }}
),

pairs as (
    select pair_id, prompt_id from {{ ref('stg_lake__pairs') }}
),

latest as (
    select *
    from neighbours
    qualify row_number() over (partition by pair_id order by computed_at desc, cluster_id) = 1
),

final as (
    select
        latest.pair_id,
        latest.cluster_id,
        latest.is_representative,
        -- a pair whose prompt is unknown (not in pairs) falls back to "not the representative"
        coalesce(
            member.prompt_id <> representative.prompt_id,
            not latest.is_representative and latest.cluster_id <> latest.pair_id
        ) as is_near_duplicate,
        latest.similarity
    from latest
    left join pairs as member on member.pair_id = latest.pair_id
    left join pairs as representative on representative.pair_id = latest.cluster_id
)

select * from final

-- Near-duplicates from the embedding stage's clusters: the representative of each cluster
-- stays, the other members are flagged. The latest computation per pair counts.
with

neighbours as (
    select * from {{ ref('stg_lake__neighbours') }}
),

latest as (
    select *
    from neighbours
    qualify row_number() over (partition by pair_id order by computed_at desc, cluster_id) = 1
),

final as (
    select
        pair_id,
        cluster_id,
        is_representative,
        not is_representative and cluster_id <> pair_id as is_near_duplicate,
        similarity
    from latest
)

select * from final

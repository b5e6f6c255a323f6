-- Benchmark prompts from the lake and from the seed benchmark_prompts_extra, with the benchmark
-- item each came from (null for seed rows and for rows ingested before items were recorded).
with

lake_prompts as (
    select benchmark, prompt_id, prompt, item_id, 'lake' as origin from {{ source('lake', 'benchmark_prompts') }}
),

seed_prompts as (
    select benchmark, cast(null as varchar) as prompt_id, prompt, cast(null as varchar) as item_id, 'seed' as origin
    from {{ ref('benchmark_prompts_extra') }}
),

final as (
    select benchmark, prompt_id, prompt, item_id, origin from lake_prompts
    union all
    select benchmark, prompt_id, prompt, item_id, origin from seed_prompts
)

select * from final

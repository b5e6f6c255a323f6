-- Benchmark prompts from the lake and from the seed benchmark_prompts_extra, with the benchmark
-- item each came from (null for seed rows and for rows ingested before items were recorded).
with

lake_rows as (
    -- union by name with an empty row of the newer columns: a table written before item_id
    -- existed reads with item_id null instead of failing to bind
    select * from {{ source('lake', 'benchmark_prompts') }}
    union all by name
    select cast(null as varchar) as item_id where false
),

lake_prompts as (
    select benchmark, prompt_id, prompt, item_id, 'lake' as origin from lake_rows
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

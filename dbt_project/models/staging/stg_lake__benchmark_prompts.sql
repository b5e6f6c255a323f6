-- Benchmark prompts from the lake and from the seed benchmark_prompts_extra.
with

lake_prompts as (
    select benchmark, prompt, 'lake' as origin from {{ source('lake', 'benchmark_prompts') }}
),

seed_prompts as (
    select benchmark, prompt, 'seed' as origin from {{ ref('benchmark_prompts_extra') }}
),

final as (
    select benchmark, prompt, origin from lake_prompts
    union all
    select benchmark, prompt, origin from seed_prompts
)

select * from final

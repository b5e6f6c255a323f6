-- Decontamination: a first-turn prompt that shares any n-gram (var ngram_size, 13) of word
-- tokens with a benchmark prompt. Exact and cheap: every n-gram window contains an s-gram
-- (s = (n+1) // 2) that starts at a multiple of s, so prompts are first matched on those
-- sampled s-grams against all benchmark s-grams, and only the few candidates are checked
-- on all their n-grams.
{%- set n = var('ngram_size') | int %}
{%- set s = ((n + 1) // 2) | int %}
with

prompts as (
    select distinct prompt_id, first_prompt
    from {{ ref('int_pairs_normalised') }}
    where first_prompt is not null
),

benchmarks as (
    select * from {{ ref('stg_lake__benchmark_prompts') }}
),

prompt_words as (
    select prompt_id, {{ word_tokens('first_prompt') }} as words from prompts
),

bench_words as (
    select benchmark, {{ word_tokens('prompt') }} as words from benchmarks
),

bench_sgrams as (
    select distinct hash(words[i:i + {{ s - 1 }}]) as gram
    from (select words, unnest(range(1, len(words) - {{ s - 2 }})) as i from bench_words where len(words) >= {{ n }})
),

bench_ngrams as (
    select hash(words[i:i + {{ n - 1 }}]) as gram, min(benchmark) as benchmark
    from (select benchmark, words, unnest(range(1, len(words) - {{ n - 2 }})) as i from bench_words where len(words) >= {{ n }})
    group by all
),

sampled as (
    select prompt_id, hash(words[i:i + {{ s - 1 }}]) as gram
    from (
        select prompt_id, words, unnest(range(1, len(words) - {{ s - 2 }}, {{ s }})) as i
        from prompt_words where len(words) >= {{ n }}
    )
),

candidates as (
    select distinct sampled.prompt_id
    from sampled
    semi join bench_sgrams using (gram)
),

candidate_ngrams as (
    select prompt_id, hash(words[i:i + {{ n - 1 }}]) as gram
    from (
        select prompt_id, words, unnest(range(1, len(words) - {{ n - 2 }})) as i
        from prompt_words semi join candidates using (prompt_id)
    )
),

final as (
    select
        candidate_ngrams.prompt_id,
        min(bench_ngrams.benchmark) as contaminated_by
    from candidate_ngrams
    inner join bench_ngrams using (gram)
    group by candidate_ngrams.prompt_id
)

select * from final

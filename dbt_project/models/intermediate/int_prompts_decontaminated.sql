-- Decontamination: a first-turn prompt is contaminated by a benchmark prompt when
--   rule 'ngram': both have at least n words (var ngram_size, 13) and share an n-gram of words, or
--   rule 'exact': the prompt has fewer than n words and its words equal the benchmark prompt's.
-- Words are macros/curation.sql word_tokens: NFC, lower-cased, runs of Unicode letters and digits
-- (punctuation and whitespace only separate words). A prompt shorter than n has no n-gram at all,
-- so without the exact rule "What is Gremolata?" could never match itself (docs/curation.md says
-- why equality and not "a contiguous run of a longer prompt").
-- The n-gram match is exact and cheap: every n-gram window contains an s-gram (s = (n+1) // 2)
-- that starts at a multiple of s, so prompts are first matched on those sampled s-grams against
-- all benchmark s-grams, and only the few candidates are checked on all their n-grams.
-- One row per contaminated prompt: the first hit (by benchmark, item, position) explains it.
{%- set n = var('ngram_size') | int %}
{%- set s = ((n + 1) // 2) | int %}
with

prompts as (
    select distinct prompt_id, first_prompt
    from {{ ref('int_pairs_normalised') }}
    where first_prompt is not null
),

prompt_words as (
    select prompt_id, {{ word_tokens('first_prompt') }} as words from prompts
),

bench_words as (
    select benchmark, prompt_id as bench_prompt_id, item_id, {{ word_tokens('prompt') }} as words
    from {{ ref('stg_lake__benchmark_prompts') }}
),

bench_sgrams as (
    select distinct hash(words[i:i + {{ s - 1 }}]) as gram
    from (select words, unnest(range(1, len(words) - {{ s - 2 }})) as i from bench_words where len(words) >= {{ n }})
),

bench_ngrams as (
    select hash(words[i:i + {{ n - 1 }}]) as gram, benchmark, bench_prompt_id, item_id
    from (
        select benchmark, bench_prompt_id, item_id, words, unnest(range(1, len(words) - {{ n - 2 }})) as i
        from bench_words where len(words) >= {{ n }}
    )
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
    select prompt_id, i as position, words[i:i + {{ n - 1 }}] as ngram, hash(words[i:i + {{ n - 1 }}]) as gram
    from (
        select prompt_id, words, unnest(range(1, len(words) - {{ n - 2 }})) as i
        from prompt_words semi join candidates using (prompt_id)
    )
),

ngram_hits as (
    select
        candidate_ngrams.prompt_id,
        bench_ngrams.benchmark,
        bench_ngrams.bench_prompt_id,
        bench_ngrams.item_id,
        'ngram' as rule,
        array_to_string(candidate_ngrams.ngram, ' ') as matched,
        candidate_ngrams.position
    from candidate_ngrams
    inner join bench_ngrams using (gram)
),

exact_hits as (
    select
        prompt_words.prompt_id,
        bench_words.benchmark,
        bench_words.bench_prompt_id,
        bench_words.item_id,
        'exact' as rule,
        array_to_string(prompt_words.words, ' ') as matched,
        1 as position
    from prompt_words
    inner join bench_words
        on hash(prompt_words.words) = hash(bench_words.words) and prompt_words.words = bench_words.words
    where len(prompt_words.words) between 1 and {{ n - 1 }}
),

hits as (
    select * from ngram_hits
    union all
    select * from exact_hits
),

ranked as (
    select
        *,
        row_number() over (partition by prompt_id order by benchmark, item_id nulls last, bench_prompt_id, position) as hit_rank,
        count(*) over (partition by prompt_id) as n_hits,
        count(distinct benchmark) over (partition by prompt_id) as n_benchmarks
    from hits
),

final as (
    select
        prompt_id,
        benchmark as contaminated_by,
        bench_prompt_id as contaminated_prompt_id,
        item_id as contaminated_item,
        rule as contamination_rule,
        matched as contamination_match,
        n_hits,
        n_benchmarks
    from ranked
    where hit_rank = 1
)

select * from final

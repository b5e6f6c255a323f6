-- The only model that reads the pair texts: everything downstream works on these hashes,
-- lengths and the first-turn prompt, so the big text columns are scanned once per build.
with

pairs as (
    select * from {{ ref('stg_lake__pairs') }}
),

hashed as (
    -- A streaming projection: the texts become hashes before any window or join sees them.
    select
        pair_id,
        prompt_id,
        pairset_id,
        is_tie,
        source_category,
        label_origin,
        source,
        source_file,
        source_row,
        ingested_at,
        hash({{ normalise_text("array_to_string(list_transform(conversation, t -> t.role || ': ' || t.content), chr(10))") }}) as conversation_hash,
        hash({{ normalise_text('chosen') }}) as chosen_hash,
        hash({{ normalise_text('rejected') }}) as rejected_hash,
        length(trim(chosen)) as chosen_chars,
        length(trim(rejected)) as rejected_chars,
        right(rtrim(chosen), 1) as chosen_last_char,
        list_filter(conversation, t -> t.role = 'user')[1].content as first_prompt
    from pairs
),

first_sightings as (
    -- The lake holds one row per pair_id; should a table hold more, the first sighting wins.
    select
        * exclude (source_file, source_row),
        count(*) over (partition by pair_id) as n_rows
    from hashed
    qualify row_number() over (partition by pair_id order by ingested_at, source, source_file, source_row) = 1
),

final as (
    select
        *,
        hash(conversation_hash, chosen_hash, rejected_hash) as dedup_key,
        hash(conversation_hash, least(chosen_hash, rejected_hash), greatest(chosen_hash, rejected_hash)) as pairset_key,
        chosen_hash < rejected_hash as orientation
    from first_sightings
)

select * from final

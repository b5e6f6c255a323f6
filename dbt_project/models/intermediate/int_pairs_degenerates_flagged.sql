-- Degenerate pairs: an empty side, identical sides after normalisation, a truncated chosen
-- response (a truncated rejected one is a fair loser), an extreme length ratio.
with

pairs as (
    select * from {{ ref('int_pairs_normalised') }}
),

final as (
    select
        pair_id,
        chosen_chars = 0 or rejected_chars = 0 as is_empty_side,
        chosen_chars > 0 and chosen_hash = rejected_hash as is_identical,
        chosen_chars >= {{ var('truncation_min_chars') }}
            and not contains({{ sql_str(var('truncation_end_chars')) }}, chosen_last_char) as is_truncated,
        least(chosen_chars, rejected_chars) > 0
            and greatest(chosen_chars, rejected_chars) >= {{ var('length_ratio_min_chars') }}
            and greatest(chosen_chars, rejected_chars) / least(chosen_chars, rejected_chars)
                > {{ var('max_length_ratio') }} as is_extreme_length_ratio
    from pairs
)

select * from final

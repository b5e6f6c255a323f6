{#- Helpers shared by the curation models. -#}

{% macro normalise_text(expr) -%}
    {#- The comparison form of a text: lower case, trimmed, inner whitespace collapsed. -#}
    regexp_replace(lower(trim({{ expr }})), '\s+', ' ', 'g')
{%- endmacro %}

{% macro sql_list(values) -%}
    {#- A dbt var (list, or a single string) as a DuckDB varchar[] literal, lower-cased. -#}
    {%- if values is string -%}{%- set values = [values] -%}{%- endif -%}
    {%- if values is none or values | length == 0 -%}
        []::varchar[]
    {%- else -%}
        [{% for v in values %}'{{ v | string | lower | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]
    {%- endif -%}
{%- endmacro %}

{% macro sql_str(value) -%}
    {#- A dbt var as a quoted SQL string, or null. -#}
    {%- if value is none or value | string | lower in ('', 'none', 'null') -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{% macro word_tokens(expr) -%}
    {#- Words for decontamination: Unicode NFC, lower-cased, runs of letters and digits; punctuation,
        symbols and whitespace only separate words (docs/curation.md, "Decontamination"). -#}
    regexp_extract_all(lower(nfc_normalize({{ expr }})), '[\pL\pN]+')
{%- endmacro %}

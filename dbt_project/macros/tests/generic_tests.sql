{#- Generic data tests of the curation (no hub packages: dbt deps is never needed). -#}

{% test columns_differ(model, column_name, other_column) %}
    {#- Rows where the column equals another one (e.g. chosen_hash = rejected_hash). -#}
    select * from {{ model }} where {{ column_name }} = {{ other_column }}
{% endtest %}

{% test kept_not_flagged(model, column_name) %}
    {#- Rows that were kept although this flag (conflict, contamination, ...) is set. -#}
    select * from {{ model }} where decision = 'keep' and {{ column_name }}
{% endtest %}

{% test kept_has_provenance(model, column_name) %}
    {#- Kept or flipped rows without a label provenance. -#}
    select * from {{ model }} where decision in ('keep', 'flip') and {{ column_name }} is null
{% endtest %}

{% test in_set(model, column_name, values) %}
    {#- Rows whose value is null or outside the accepted set. -#}
    select * from {{ model }}
    where {{ column_name }} is null or not list_contains({{ sql_list(values) }}, lower({{ column_name }}::varchar))
{% endtest %}

{% test list_in_set(model, column_name, values) %}
    {#- Rows whose list holds a value outside the accepted set. -#}
    select * from {{ model }}
    where not list_has_all({{ sql_list(values) }}, coalesce({{ column_name }}, []::varchar[]))
{% endtest %}

{% test unique_combination(model, columns) %}
    {#- The grain: no two rows share these columns. -#}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test between(model, column_name, min_value, max_value) %}
    {#- Rows whose non-null value lies outside [min_value, max_value]. -#}
    select * from {{ model }}
    where {{ column_name }} is not null and ({{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }})
{% endtest %}

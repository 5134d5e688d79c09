{#-
    JSON extraction by a dotted path ('commit.author.date'; a numeric part indexes an array:
    'acknowledgements.0.at'). A missing path, a JSON null or a value of the wrong kind gives
    a typed NULL, the same on every target. The raw columns are JSON (DuckDB) or jsonb
    (Postgres). default__ is the Postgres dialect; postgres__ uses it.
-#}

{% macro _json_path_duckdb(path) -%}
    {%- set ns = namespace(out='$') -%}
    {%- for part in (path | string).split('.') if part != '' -%}
        {%- if part == '*' or part.isdigit() -%}
            {%- set ns.out = ns.out ~ '[' ~ part ~ ']' -%}
        {%- else -%}
            {%- set ns.out = ns.out ~ '."' ~ part ~ '"' -%}
        {%- endif -%}
    {%- endfor -%}
    '{{ ns.out }}'
{%- endmacro %}

{% macro _json_path_postgres(path) -%}
    {%- set parts = [] -%}
    {%- for part in (path | string).split('.') if part != '' -%}
        {%- do parts.append('"' ~ part ~ '"') -%}
    {%- endfor -%}
    '{{ "{" ~ parts | join(",") ~ "}" }}'
{%- endmacro %}

{#
    Regular expressions a scalar's text must match to be cast (the same on both targets). The
    text is cast only through the regexp's match, never in a CASE branch: Postgres folds a
    constant cast at plan time even in a branch that is never taken.
#}
{% macro _integer_pattern() %}'^-?[0-9]+$'{% endmacro %}
{% macro _number_pattern() %}'^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$'{% endmacro %}


{# The text of a scalar (string, number, boolean). Not for arrays or objects: their JSON text
   differs in whitespace between targets (use json_array / json_array_elements). #}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'platform_kpis')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    ({{ column }} #>> {{ _json_path_postgres(path) }})
{%- endmacro %}

{% macro postgres__json_text(column, path) -%}
    {{ default__json_text(column, path) }}
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, {{ _json_path_duckdb(path) }})
{%- endmacro %}


{# A number, as double precision; text that is not a number gives NULL. #}
{% macro json_number(column, path) -%}
    {{ text_to_double(json_text(column, path)) }}
{%- endmacro %}

{# An integer, as bigint (ids, counts); a fractional or non-numeric value gives NULL. #}
{% macro json_bigint(column, path) -%}
    {{ text_to_bigint(json_text(column, path)) }}
{%- endmacro %}

{# Text to a number; text that is not one gives NULL (never an error) on every target. #}
{% macro text_to_double(expr) -%}
    {{ return(adapter.dispatch('text_to_double', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__text_to_double(expr) -%}
    cast(substring({{ expr }} from {{ _number_pattern() }}) as double precision)
{%- endmacro %}

{% macro postgres__text_to_double(expr) -%}
    {{ default__text_to_double(expr) }}
{%- endmacro %}

{% macro duckdb__text_to_double(expr) -%}
    cast(nullif(regexp_extract({{ expr }}, {{ _number_pattern() }}), '') as double)
{%- endmacro %}

{% macro text_to_bigint(expr) -%}
    {{ return(adapter.dispatch('text_to_bigint', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__text_to_bigint(expr) -%}
    cast(substring({{ expr }} from {{ _integer_pattern() }}) as bigint)
{%- endmacro %}

{% macro postgres__text_to_bigint(expr) -%}
    {{ default__text_to_bigint(expr) }}
{%- endmacro %}

{% macro duckdb__text_to_bigint(expr) -%}
    cast(nullif(regexp_extract({{ expr }}, {{ _integer_pattern() }}), '') as bigint)
{%- endmacro %}


{# A boolean: JSON true/false (or their text); anything else gives NULL. #}
{% macro json_boolean(column, path) -%}
    {{ return(adapter.dispatch('json_boolean', 'platform_kpis')(column, path)) }}
{%- endmacro %}

{% macro default__json_boolean(column, path) -%}
    (case lower({{ json_text(column, path) }}) when 'true' then true when 'false' then false end)
{%- endmacro %}

{% macro postgres__json_boolean(column, path) -%}
    {{ default__json_boolean(column, path) }}
{%- endmacro %}

{% macro duckdb__json_boolean(column, path) -%}
    {{ default__json_boolean(column, path) }}
{%- endmacro %}


{# A UTC timestamp from an ISO 8601 string (see parse_iso_timestamp). #}
{% macro json_timestamp(column, path) -%}
    {{ return(adapter.dispatch('json_timestamp', 'platform_kpis')(column, path)) }}
{%- endmacro %}

{% macro default__json_timestamp(column, path) -%}
    {{ parse_iso_timestamp(json_text(column, path)) }}
{%- endmacro %}

{% macro postgres__json_timestamp(column, path) -%}
    {{ default__json_timestamp(column, path) }}
{%- endmacro %}

{% macro duckdb__json_timestamp(column, path) -%}
    {{ default__json_timestamp(column, path) }}
{%- endmacro %}


{# The JSON kind: string, number, boolean, array, object or null (NULL when missing). #}
{% macro json_type(column, path) -%}
    {{ return(adapter.dispatch('json_type', 'platform_kpis')(column, path)) }}
{%- endmacro %}

{% macro default__json_type(column, path) -%}
    jsonb_typeof({{ column }} #> {{ _json_path_postgres(path) }})
{%- endmacro %}

{% macro postgres__json_type(column, path) -%}
    {{ default__json_type(column, path) }}
{%- endmacro %}

{% macro duckdb__json_type(column, path) -%}
    (case json_type({{ column }}, {{ _json_path_duckdb(path) }})
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'number'
        when 'UBIGINT' then 'number'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'ARRAY' then 'array'
        when 'OBJECT' then 'object'
        when 'NULL' then 'null'
    end)
{%- endmacro %}


{# The array at a path, as JSON; anything that is not an array gives an empty array. #}
{% macro json_array(column, path) -%}
    {{ return(adapter.dispatch('json_array', 'platform_kpis')(column, path)) }}
{%- endmacro %}

{% macro default__json_array(column, path) -%}
    (case when jsonb_typeof({{ column }} #> {{ _json_path_postgres(path) }}) = 'array'
        then {{ column }} #> {{ _json_path_postgres(path) }} else cast('[]' as jsonb) end)
{%- endmacro %}

{% macro postgres__json_array(column, path) -%}
    {{ default__json_array(column, path) }}
{%- endmacro %}

{% macro duckdb__json_array(column, path) -%}
    (case when json_type({{ column }}, {{ _json_path_duckdb(path) }}) = 'ARRAY'
        then json_extract({{ column }}, {{ _json_path_duckdb(path) }}) else cast('[]' as json) end)
{%- endmacro %}


{#
    A lateral relation of the array's elements, for a FROM clause:
        from t cross join {{ json_array_elements('t.record', 'commits', 'c') }}
    gives c.element (JSON) and c.ordinal (1 for the first element). Non-arrays give no rows.
#}
{% macro json_array_elements(column, path, alias) -%}
    {{ return(adapter.dispatch('json_array_elements', 'platform_kpis')(column, path, alias)) }}
{%- endmacro %}

{% macro default__json_array_elements(column, path, alias) -%}
    lateral jsonb_array_elements({{ json_array(column, path) }})
        with ordinality as {{ alias }} (element, ordinal)
{%- endmacro %}

{% macro postgres__json_array_elements(column, path, alias) -%}
    {{ default__json_array_elements(column, path, alias) }}
{%- endmacro %}

{% macro duckdb__json_array_elements(column, path, alias) -%}
    lateral unnest(json_extract({{ column }}, {{ _json_path_duckdb(path ~ '.*') }}))
        with ordinality as {{ alias }} (element, ordinal)
{%- endmacro %}

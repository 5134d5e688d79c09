{#
    Unanchored regular-expression search (Python re / RE2 / Postgres ARE agree on the
    patterns the catalog uses). A leading `(?i)` makes it case-insensitive on every target:
    Postgres strips it and uses ~*. `pattern` may be a literal or a column. NULL in, NULL out.
#}
{% macro regexp_search(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_search', 'platform_kpis')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_search(expr, pattern) -%}
    (case when {{ pattern }} like '(?i)%' then {{ expr }} ~* substr({{ pattern }}, 5)
        else {{ expr }} ~ {{ pattern }} end)
{%- endmacro %}

{% macro postgres__regexp_search(expr, pattern) -%}
    {{ default__regexp_search(expr, pattern) }}
{%- endmacro %}

{% macro duckdb__regexp_search(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ pattern }})
{%- endmacro %}

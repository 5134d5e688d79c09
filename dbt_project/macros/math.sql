{#- Aggregates and arithmetic that mean the same on every target. -#}

{#
    The continuous percentile (linear interpolation) of expr, p in [0, 1], as an aggregate.
    NULLs are ignored; no rows give NULL. Not usable as a window function on Postgres.
#}
{% macro percentile_cont(expr, p) -%}
    {{ return(adapter.dispatch('percentile_cont', 'platform_kpis')(expr, p)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, p) -%}
    percentile_cont({{ p }}) within group (order by cast({{ expr }} as double precision))
{%- endmacro %}

{% macro postgres__percentile_cont(expr, p) -%}
    {{ default__percentile_cont(expr, p) }}
{%- endmacro %}

{% macro duckdb__percentile_cont(expr, p) -%}
    quantile_cont(cast({{ expr }} as double), {{ p }})
{%- endmacro %}


{# numerator / denominator as double precision; NULL when the denominator is 0 or NULL. #}
{% macro safe_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_divide', 'platform_kpis')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0))
{%- endmacro %}

{% macro postgres__safe_divide(numerator, denominator) -%}
    {{ default__safe_divide(numerator, denominator) }}
{%- endmacro %}

{% macro duckdb__safe_divide(numerator, denominator) -%}
    {{ default__safe_divide(numerator, denominator) }}
{%- endmacro %}

{#-
    Period arithmetic on dates. grain: 'week' (ISO weeks, starting Monday) or 'month'
    (calendar months), a literal.
-#}

{# The first day of the week or month that contains a date. #}
{% macro period_start_of(date_expr, grain) -%}
    {%- if grain == 'week' -%}
        {{ iso_week_start('cast(' ~ date_expr ~ ' as timestamp)') }}
    {%- elif grain == 'month' -%}
        {{ month_start('cast(' ~ date_expr ~ ' as timestamp)') }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("period_start_of: grain must be 'week' or 'month', not " ~ grain) }}
    {%- endif -%}
{%- endmacro %}


{# date_expr moved by n_expr (an integer expression, may be negative) weeks or months. #}
{% macro shift_periods(date_expr, n_expr, grain) -%}
    {%- if grain not in ('week', 'month') -%}
        {{ exceptions.raise_compiler_error("shift_periods: grain must be 'week' or 'month', not " ~ grain) }}
    {%- endif -%}
    {{ return(adapter.dispatch('shift_periods', 'platform_kpis')(date_expr, n_expr, grain)) }}
{%- endmacro %}

{% macro default__shift_periods(date_expr, n_expr, grain) -%}
    cast({{ date_expr }} + make_interval({{ grain }}s => cast({{ n_expr }} as integer)) as date)
{%- endmacro %}

{% macro postgres__shift_periods(date_expr, n_expr, grain) -%}
    {{ default__shift_periods(date_expr, n_expr, grain) }}
{%- endmacro %}

{% macro duckdb__shift_periods(date_expr, n_expr, grain) -%}
    cast({{ date_expr }} + to_{{ grain }}s(cast({{ n_expr }} as integer)) as date)
{%- endmacro %}

{#
    Whether a week or month is complete: it ended at or before the data's as-of time
    (int_as_of.as_of, a UTC timestamp). With no as-of time no period is complete. The one
    place the completeness rule is written: every weekly and monthly mart calls it.
    period_start: a date column (week_start, a Monday, or month_start, a first of month);
    grain: 'week' or 'month'.
#}
{% macro period_is_complete(period_start, grain, as_of='as_of.as_of') -%}
    {%- if grain not in ('week', 'month') -%}
        {{ exceptions.raise_compiler_error("period_is_complete: grain must be 'week' or 'month', not " ~ grain) }}
    {%- endif -%}
    coalesce(cast({{ period_start }} + interval '1 {{ grain }}' as timestamp) <= {{ as_of }}, false)
{%- endmacro %}

{#-
    Timestamps are UTC, stored as `timestamp` (without time zone) so that truncation to weeks
    and months never depends on a session's time zone. default__ is the Postgres dialect.
-#}

{#
    An ISO 8601 string with `Z` or an offset ('2016-07-07T10:37:23-07:00') to UTC; a string
    without a zone is read as UTC. Text that does not start with a date gives NULL.
#}
{% macro parse_iso_timestamp(expr) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__parse_iso_timestamp(expr) -%}
    {%- set text = "substring(" ~ expr ~ " from '^[0-9]{4}-[0-9]{2}-[0-9]{2}.*$')" -%}
    (cast(case when substr({{ text }}, 11) ~* '(z|[+-][0-9]{2}(:?[0-9]{2})?)$'
        then {{ text }} else {{ text }} || '+00:00' end as timestamptz) at time zone 'UTC')
{%- endmacro %}

{% macro postgres__parse_iso_timestamp(expr) -%}
    {{ default__parse_iso_timestamp(expr) }}
{%- endmacro %}

{% macro duckdb__parse_iso_timestamp(expr) -%}
    {%- set text = "nullif(regexp_extract(" ~ expr ~ ", '^[0-9]{4}-[0-9]{2}-[0-9]{2}.*$'), '')" -%}
    timezone('UTC', try_cast(case when regexp_matches(substr({{ text }}, 11), '(?i)(z|[+-][0-9]{2}(:?[0-9]{2})?)$')
        then {{ text }} else {{ text }} || '+00:00' end as timestamptz))
{%- endmacro %}


{# Seconds since the Unix epoch (Zendesk's generated_timestamp) to a UTC timestamp. #}
{% macro epoch_to_timestamp(expr) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__epoch_to_timestamp(expr) -%}
    (to_timestamp({{ expr }}) at time zone 'UTC')
{%- endmacro %}

{% macro postgres__epoch_to_timestamp(expr) -%}
    {{ default__epoch_to_timestamp(expr) }}
{%- endmacro %}

{% macro duckdb__epoch_to_timestamp(expr) -%}
    make_timestamp(cast(round(cast({{ expr }} as double) * 1000000) as bigint))
{%- endmacro %}


{# A timestamptz column (the raw layer's extracted_at, ...) to a UTC timestamp. #}
{% macro to_utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expr) -%}
    ({{ expr }} at time zone 'UTC')
{%- endmacro %}

{% macro postgres__to_utc_timestamp(expr) -%}
    {{ default__to_utc_timestamp(expr) }}
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expr) -%}
    timezone('UTC', {{ expr }})
{%- endmacro %}


{# The ISO week (Monday) of a UTC timestamp, as a date. #}
{% macro iso_week_start(expr) -%}
    {{ return(adapter.dispatch('iso_week_start', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__iso_week_start(expr) -%}
    cast(date_trunc('week', {{ expr }}) as date)
{%- endmacro %}

{% macro postgres__iso_week_start(expr) -%}
    {{ default__iso_week_start(expr) }}
{%- endmacro %}

{% macro duckdb__iso_week_start(expr) -%}
    {{ default__iso_week_start(expr) }}
{%- endmacro %}


{# The calendar month of a UTC timestamp, as a date (its first day). #}
{% macro month_start(expr) -%}
    {{ return(adapter.dispatch('month_start', 'platform_kpis')(expr)) }}
{%- endmacro %}

{% macro default__month_start(expr) -%}
    cast(date_trunc('month', {{ expr }}) as date)
{%- endmacro %}

{% macro postgres__month_start(expr) -%}
    {{ default__month_start(expr) }}
{%- endmacro %}

{% macro duckdb__month_start(expr) -%}
    {{ default__month_start(expr) }}
{%- endmacro %}


{# end - start in seconds, as double precision (negative when end is earlier). #}
{% macro seconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('seconds_between', 'platform_kpis')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__seconds_between(start_expr, end_expr) -%}
    cast(extract(epoch from ({{ end_expr }} - {{ start_expr }})) as double precision)
{%- endmacro %}

{% macro postgres__seconds_between(start_expr, end_expr) -%}
    {{ default__seconds_between(start_expr, end_expr) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_expr, end_expr) -%}
    (epoch({{ end_expr }}) - epoch({{ start_expr }}))
{%- endmacro %}

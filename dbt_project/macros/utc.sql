{#- A naive UTC timestamp (as staging keeps them) as a timestamp with time zone, the type the
    published marts carry. "at time zone 'UTC'" reads the naive value as UTC on DuckDB and on
    Postgres alike, whatever the session's time zone. -#}
{% macro utc_timestamptz(expr) -%}
    ({{ expr }} at time zone 'UTC')
{%- endmacro %}

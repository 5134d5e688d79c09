{#
    Select the expected columns of a relation, each cast to its type; a column the relation
    lacks (an older raw file, a source not yet extracted) comes out as a typed NULL, so schema
    drift is tolerated and visible rather than fatal. `expected`: a list of [name, type].
#}
{% macro columns_or_null(relation, expected) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name, type in expected %}
        {% if not execute or name in present -%}
            cast({{ name }} as {{ type }})
        {%- else -%}
            cast(null as {{ type }})
        {%- endif %} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
    The latest version of every record of a raw table: the row with the largest ingest_id of
    its record_key. Renders a subquery for a FROM clause:
        select * from {{ latest_versions(source('github', 'deployments')) }}
#}
{% macro latest_versions(relation) -%}
    (
        select * from {{ relation }}
        where ingest_id in (select max(ingest_id) from {{ relation }} group by record_key)
    ) as latest_versions
{%- endmacro %}

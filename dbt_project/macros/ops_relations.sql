{#
    Select the named columns of a relation that may not exist yet (a table a loader creates
    only when it runs, such as catalog.billing_charges): the relation's rows when it exists,
    else no rows with the same typed columns. `columns`: a list of [name, type]. Renders a
    subquery for a FROM clause:
        select * from {{ ops_relation_or_empty(source('billing', 'billing_charges'), cols) }}
#}
{% macro ops_relation_or_empty(relation, columns) -%}
    {%- set existing = load_relation(relation) if execute else none -%}
    (
        select
        {%- for name, type in columns %}
            {% if existing is not none -%}
                cast({{ name }} as {{ type }})
            {%- else -%}
                cast(null as {{ type }})
            {%- endif %} as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        {% if existing is not none -%}
            from {{ existing }}
        {%- else -%}
            where 1 = 0
        {%- endif %}
    ) as {{ relation.identifier }}
{%- endmacro %}

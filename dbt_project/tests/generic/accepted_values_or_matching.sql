{#-
    Every non-NULL value is one of `values` or matches the regular expression `pattern`
    (searched unanchored: anchor it with ^ and $). For a fixed list that grows from the
    catalog, such as the scorecard's KPIs plus one per ticket theme.
-#}
{% test accepted_values_or_matching(model, column_name, values, pattern) %}

select {{ column_name }} as unexpected_value
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        {%- for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    and not {{ regexp_search(column_name, "'" ~ pattern ~ "'") }}

{% endtest %}

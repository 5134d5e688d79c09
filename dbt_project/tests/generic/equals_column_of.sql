{#-
    The column equals a column of another relation, row for row on a shared key: every key of
    either side must be on both, with the same value (NULLs compare as values). `to_condition`
    selects the other relation's rows (e.g. one theme of a per-theme table).
-#}
{% test equals_column_of(model, column_name, to, field, key, to_condition='1 = 1') %}

with

this_side as (

    select {{ key }} as key_value, {{ column_name }} as this_value
    from {{ model }}

),

other_side as (

    select {{ key }} as key_value, {{ field }} as other_value
    from {{ to }}
    where {{ to_condition }}

)

select
    coalesce(this_side.key_value, other_side.key_value) as key_value,
    this_side.this_value,
    other_side.other_value
from this_side
full outer join other_side
    on this_side.key_value = other_side.key_value
where
    this_side.key_value is null
    or other_side.key_value is null
    or this_side.this_value is distinct from other_side.other_value

{% endtest %}

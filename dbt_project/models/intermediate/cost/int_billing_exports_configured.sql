-- One row: whether a billing export is configured, as the billing loader recorded it (false
-- when the loader has not run: compute cost is then unknown, never 0).
with

export_status as (

    select * from {{ ops_relation_or_empty(source('billing', 'billing_export_status'), [
        ['is_configured', 'boolean'],
    ]) }}

),

configured as (

    select coalesce(bool_or(is_configured), false) as has_billing_export
    from export_status

),

final as (

    select * from configured

)

select * from final

-- The billing export's charges (FinOps FOCUS), as loaded by warehouse/billing.py; no rows
-- when no export is configured or the loader has not run.
with

charges as (

    select * from {{ ops_relation_or_empty(source('billing', 'billing_charges'), [
        ['charge_period_start', dbt.type_timestamp()],
        ['billed_cost', 'double precision'],
        ['billing_currency', dbt.type_string()],
        ['service_name', dbt.type_string()],
    ]) }}

),

final as (

    select * from charges
    where charge_period_start is not null

)

select * from final

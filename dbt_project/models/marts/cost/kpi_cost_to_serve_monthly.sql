-- Cost to serve per calendar month, dense over the shared monthly range: compute cost from the
-- billing export (BilledCost by the month of ChargePeriodStart; NULL when no export is
-- configured, 0 for a month without charges when one is), operational hours (ops hours of the
-- incidents created in the month + handle hours of the tickets solved in it, deleted tickets
-- excluded) priced at the catalog's hourly cost, and both per active customer. is_complete:
-- the month ended at or before the data's as-of time.
with

months as (

    select * from {{ ref('int_months') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

billing_charges as (

    select * from {{ ref('int_billing_charges_loaded') }}

),

billing_exports as (

    select * from {{ ref('int_billing_exports_configured') }}

),

incidents as (

    select * from {{ ref('int_incidents_timed') }}

),

tickets as (

    select * from {{ ref('int_tickets_enriched') }}

),

active_customers as (

    select * from {{ ref('int_active_customers_counted') }}

),

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

compute_costs as (

    select
        {{ month_start('charge_period_start') }} as month_start,
        sum(billed_cost) as compute_cost
    from billing_charges
    group by {{ month_start('charge_period_start') }}

),

incident_ops_hours as (

    select
        {{ month_start('created_at') }} as month_start,
        sum(ops_hours) as incident_ops_hours
    from incidents
    where ops_hours is not null
    group by {{ month_start('created_at') }}

),

support_ops_hours as (

    select
        {{ month_start('solved_at') }} as month_start,
        sum(coalesce(handle_hours, 0)) as support_ops_hours
    from tickets
    where not is_deleted and solved_at is not null
    group by {{ month_start('solved_at') }}

),

joined as (

    select
        months.month_start,
        billing_exports.has_billing_export,
        settings.handle_time_field_id is not null as has_handle_time_field,
        settings.hourly_cost,
        case
            when billing_exports.has_billing_export
                then coalesce(compute_costs.compute_cost, 0)
        end as compute_cost,
        coalesce(incident_ops_hours.incident_ops_hours, 0) as incident_ops_hours,
        coalesce(support_ops_hours.support_ops_hours, 0) as support_ops_hours,
        coalesce(active_customers.active_customers, 0) as active_customers,
        {{ period_is_complete('months.month_start', 'month') }} as is_complete
    from months
    cross join as_of
    cross join billing_exports
    cross join settings
    left join compute_costs
        on months.month_start = compute_costs.month_start
    left join incident_ops_hours
        on months.month_start = incident_ops_hours.month_start
    left join support_ops_hours
        on months.month_start = support_ops_hours.month_start
    left join active_customers
        on months.month_start = active_customers.month_start

),

priced as (

    select
        *,
        incident_ops_hours + support_ops_hours as ops_hours,
        (incident_ops_hours + support_ops_hours) * hourly_cost as ops_cost
    from joined

),

final as (

    select
        month_start,
        cast(compute_cost as double precision) as compute_cost,
        cast(incident_ops_hours as double precision) as incident_ops_hours,
        cast(support_ops_hours as double precision) as support_ops_hours,
        cast(ops_hours as double precision) as ops_hours,
        cast(ops_cost as double precision) as ops_cost,
        cast(active_customers as bigint) as active_customers,
        {{ safe_divide('compute_cost + ops_cost', 'active_customers') }} as cost_per_customer,
        {{ safe_divide('ops_cost', 'active_customers') }} as ops_cost_per_customer,
        cast(hourly_cost as double precision) as hourly_cost,
        has_billing_export,
        has_handle_time_field,
        is_complete
    from priced

)

select * from final

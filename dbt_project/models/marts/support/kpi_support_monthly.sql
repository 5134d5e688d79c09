-- Support load per calendar month, dense over the shared monthly range: tickets created
-- (deleted ones excluded), trust tickets, active customers and both per 1,000 customers
-- (NULL without customers). is_complete: the month ended at or before the data's as-of time.
with

months as (

    select * from {{ ref('int_months') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

tickets as (

    select * from {{ ref('int_tickets_enriched') }}

),

active_customers as (

    select * from {{ ref('int_active_customers_counted') }}

),

ticket_counts as (

    select
        {{ month_start('created_at') }} as month_start,
        count(*) as tickets,
        sum(case when is_trust then 1 else 0 end) as trust_tickets
    from tickets
    where not is_deleted
    group by {{ month_start('created_at') }}

),

joined as (

    select
        months.month_start,
        coalesce(ticket_counts.tickets, 0) as tickets,
        coalesce(ticket_counts.trust_tickets, 0) as trust_tickets,
        coalesce(active_customers.active_customers, 0) as active_customers,
        {{ period_is_complete('months.month_start', 'month') }} as is_complete
    from months
    cross join as_of
    left join ticket_counts
        on months.month_start = ticket_counts.month_start
    left join active_customers
        on months.month_start = active_customers.month_start

),

final as (

    select
        month_start,
        cast(tickets as bigint) as tickets,
        cast(trust_tickets as bigint) as trust_tickets,
        cast(active_customers as bigint) as active_customers,
        {{ safe_divide('tickets * 1000', 'active_customers') }} as tickets_per_1k_customers,
        {{ safe_divide('trust_tickets * 1000', 'active_customers') }}
            as trust_tickets_per_1k_customers,
        is_complete
    from joined

)

select * from final

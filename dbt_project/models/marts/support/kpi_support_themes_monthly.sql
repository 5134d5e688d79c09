-- Support load per calendar month and ticket theme, dense over the shared monthly range and
-- every catalog theme ('trust' always among them): tickets created in the month that carry a
-- tag of the theme (deleted ones excluded; a ticket counts in each of its themes), active
-- customers and tickets per 1,000 customers (NULL without customers). is_complete: the month
-- ended at or before the data's as-of time.
with

months as (

    select * from {{ ref('int_months') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

ticket_themes as (

    select * from {{ ref('int_ticket_themes_matched') }}

),

catalog_themes as (

    select * from {{ ref('stg_catalog__ticket_themes') }}

),

active_customers as (

    select * from {{ ref('int_active_customers_counted') }}

),

themes as (

    select distinct theme
    from catalog_themes

),

ticket_counts as (

    select
        {{ month_start('created_at') }} as month_start,
        theme,
        count(*) as tickets
    from ticket_themes
    where not is_deleted
    group by {{ month_start('created_at') }}, theme

),

joined as (

    select
        months.month_start,
        themes.theme,
        coalesce(ticket_counts.tickets, 0) as tickets,
        coalesce(active_customers.active_customers, 0) as active_customers,
        {{ period_is_complete('months.month_start', 'month') }} as is_complete
    from months
    cross join themes
    cross join as_of
    left join ticket_counts
        on
            months.month_start = ticket_counts.month_start
            and themes.theme = ticket_counts.theme
    left join active_customers
        on months.month_start = active_customers.month_start

),

final as (

    select
        month_start,
        theme,
        cast(tickets as bigint) as tickets,
        cast(active_customers as bigint) as active_customers,
        {{ safe_divide('tickets * 1000', 'active_customers') }} as tickets_per_1k_customers,
        is_complete
    from joined

)

select * from final

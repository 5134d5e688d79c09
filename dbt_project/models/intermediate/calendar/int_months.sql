-- The monthly KPI tables' shared range, dense: every calendar month (its first day, a date)
-- from the first to the last month holding a ticket created or solved (deleted tickets
-- excluded), an incident (created_at), a production deployment (deployed_at; a failed one by
-- created_at), a merged pull request (into any branch) or, with an export, a billing charge.
with recursive

tickets as (

    select * from {{ ref('int_tickets_enriched') }}

),

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

pull_requests as (

    select * from {{ ref('int_pull_requests_classified') }}

),

billing_charges as (

    select * from {{ ref('int_billing_charges_loaded') }}

),

event_times as (

    select created_at as event_at
    from tickets
    where not is_deleted
    union all
    select solved_at as event_at
    from tickets
    where not is_deleted
    union all
    select created_at as event_at
    from incidents
    union all
    select {{ to_utc_timestamp('coalesce(deployed_at, created_at)') }} as event_at
    from deployments
    union all
    select merged_at as event_at
    from pull_requests
    union all
    select charge_period_start as event_at
    from billing_charges

),

month_range as (

    select
        {{ month_start('min(event_at)') }} as first_month,
        {{ month_start('max(event_at)') }} as last_month
    from event_times

),

months as (

    select first_month as month_start
    from month_range
    where first_month is not null

    union all

    select cast(months.month_start + interval '1 month' as date) as month_start
    from months
    cross join month_range
    where months.month_start < month_range.last_month

),

final as (

    select month_start from months

)

select * from final

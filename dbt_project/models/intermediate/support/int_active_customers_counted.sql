-- Active customers per month of the monthly range: Zendesk organizations created before the
-- month's end (as of the last sync).
with

months as (

    select * from {{ ref('int_months') }}

),

organizations as (

    select * from {{ ref('stg_zendesk__organizations') }}

),

counted as (

    select
        months.month_start,
        count(organizations.organization_id) as active_customers
    from months
    left join organizations
        on organizations.created_at < months.month_start + interval '1 month'
    group by months.month_start

),

final as (

    select * from counted

)

select * from final

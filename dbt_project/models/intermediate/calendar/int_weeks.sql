-- The weekly KPI tables' shared range, dense: every ISO week (Monday, a date) from the first
-- to the last week holding a production deployment (by deployed_at; a failed one by
-- created_at), a deployed change or an incident (by created_at). A deployed change's week is
-- that of the deployment that shipped it, so the deployments already hold it.
with recursive

deployments as (

    select * from {{ ref('int_deployments_unioned') }}

),

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

event_weeks as (

    select {{ iso_week_start('coalesce(deployed_at, created_at)') }} as week_start
    from deployments
    union all
    select {{ iso_week_start('created_at') }} as week_start
    from incidents

),

week_range as (

    select
        min(week_start) as first_week,
        max(week_start) as last_week
    from event_weeks

),

weeks as (

    select first_week as week_start
    from week_range
    where first_week is not null

    union all

    select cast(weeks.week_start + 7 as date) as week_start
    from weeks
    cross join week_range
    where weeks.week_start < week_range.last_week

),

final as (

    select week_start from weeks

)

select * from final

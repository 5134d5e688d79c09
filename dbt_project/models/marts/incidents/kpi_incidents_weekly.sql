-- Incident KPIs per ISO week (of created_at) and team, dense over the shared weekly range:
-- every catalog team, 'all' (every incident) and 'unassigned' (incidents of services no team
-- owns) when any incident maps to no team. MTTR and the percentiles are over the week's
-- resolved incidents (n), MTTA over its acknowledged ones; incidents per 100 successful
-- production deployments of the same team and week. is_complete: the week ended at or before
-- the data's as-of time.
with

weeks as (

    select * from {{ ref('int_weeks') }}

),

incidents as (

    select * from {{ ref('int_incidents_timed') }}

),

deployments as (

    select * from {{ ref('fct_deployments') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

catalog_teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

incident_events as (

    select
        {{ iso_week_start('created_at') }} as week_start,
        coalesce(team, 'unassigned') as team,
        urgency,
        time_to_ack_minutes,
        time_to_resolve_hours
    from incidents

),

deployment_events as (

    select
        {{ iso_week_start(to_utc_timestamp('deployed_at')) }} as week_start,
        coalesce(team, 'unassigned') as team
    from deployments
    where succeeded

),

-- Every event once under its team and once under 'all'.
incident_events_by_team as (

    select * from incident_events
    union all
    select
        week_start,
        'all' as team,
        urgency,
        time_to_ack_minutes,
        time_to_resolve_hours
    from incident_events

),

deployment_events_by_team as (

    select * from deployment_events
    union all
    select
        week_start,
        'all' as team
    from deployment_events

),

incident_stats as (

    select
        week_start,
        team,
        count(*) as incidents,
        sum(case when urgency = 'high' then 1 else 0 end) as high_urgency_incidents,
        count(time_to_resolve_hours) as resolved_incidents,
        avg(time_to_resolve_hours) as mttr_hours,
        {{ percentile_cont('time_to_resolve_hours', 0.5) }} as ttr_p50_hours,
        {{ percentile_cont('time_to_resolve_hours', 0.95) }} as ttr_p95_hours,
        avg(time_to_ack_minutes) as mtta_minutes
    from incident_events_by_team
    group by week_start, team

),

deployment_counts as (

    select
        week_start,
        team,
        count(*) as deployments
    from deployment_events_by_team
    group by week_start, team

),

teams as (

    select team from catalog_teams
    union all
    select 'all' as team
    union all
    select distinct team
    from incident_events
    where team = 'unassigned'

),

grid as (

    select
        weeks.week_start,
        teams.team,
        {{ period_is_complete('weeks.week_start', 'week') }} as is_complete
    from weeks
    cross join teams
    cross join as_of

),

joined as (

    select
        grid.week_start,
        grid.team,
        coalesce(incident_stats.incidents, 0) as incidents,
        coalesce(incident_stats.high_urgency_incidents, 0) as high_urgency_incidents,
        coalesce(incident_stats.resolved_incidents, 0) as resolved_incidents,
        incident_stats.mttr_hours,
        incident_stats.ttr_p50_hours,
        incident_stats.ttr_p95_hours,
        incident_stats.mtta_minutes,
        coalesce(deployment_counts.deployments, 0) as deployments,
        grid.is_complete
    from grid
    left join incident_stats
        on
            grid.week_start = incident_stats.week_start
            and grid.team = incident_stats.team
    left join deployment_counts
        on
            grid.week_start = deployment_counts.week_start
            and grid.team = deployment_counts.team

),

final as (

    select
        week_start,
        team,
        cast(incidents as bigint) as incidents,
        cast(high_urgency_incidents as bigint) as high_urgency_incidents,
        cast(resolved_incidents as bigint) as resolved_incidents,
        cast(mttr_hours as double precision) as mttr_hours,
        cast(ttr_p50_hours as double precision) as ttr_p50_hours,
        cast(ttr_p95_hours as double precision) as ttr_p95_hours,
        cast(mtta_minutes as double precision) as mtta_minutes,
        {{ safe_divide('incidents * 100', 'deployments') }} as incidents_per_100_deployments,
        cast(resolved_incidents as bigint) as n,
        is_complete
    from joined

)

select * from final

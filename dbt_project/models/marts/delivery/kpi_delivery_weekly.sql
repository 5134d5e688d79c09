-- Delivery KPIs per ISO week and team, dense over the shared weekly range: every catalog
-- team, 'all' (every event) and 'unassigned' (events of repositories no team owns) when any
-- deployment or deployed change maps to no team. Deployments count in the week of
-- deployed_at (failed ones of created_at), changes in the week of their deployment.
-- is_complete: the week ended at or before the data's as-of time.
with

deployments as (

    select * from {{ ref('int_deployments_joined') }}

),

changes as (

    select * from {{ ref('int_changes_attributed') }}

),

weeks as (

    select * from {{ ref('int_weeks') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

catalog_teams as (

    select * from {{ ref('stg_catalog__teams') }}

),

deployment_events as (

    select
        {{ iso_week_start('coalesce(deployed_at, created_at)') }} as week_start,
        coalesce(team, 'unassigned') as team,
        succeeded,
        is_rollback,
        rolled_back,
        succeeded
        and not is_rollback
        and (rolled_back or incident_id is not null) as is_change_failure
    from deployments

),

change_events as (

    select
        {{ iso_week_start('deployed_at') }} as week_start,
        coalesce(team, 'unassigned') as team,
        lead_time_hours
    from changes
    where deployed_at is not null

),

-- Every event once under its team and once under 'all'.
deployment_events_by_team as (

    select * from deployment_events
    union all
    select
        week_start,
        'all' as team,
        succeeded,
        is_rollback,
        rolled_back,
        is_change_failure
    from deployment_events

),

change_events_by_team as (

    select * from change_events
    union all
    select
        week_start,
        'all' as team,
        lead_time_hours
    from change_events

),

deployment_counts as (

    select
        week_start,
        team,
        sum(case when succeeded then 1 else 0 end) as deployments,
        sum(case when not succeeded then 1 else 0 end) as failed_deployments,
        sum(case when is_rollback then 1 else 0 end) as rollbacks,
        sum(case when rolled_back then 1 else 0 end) as rolled_back_deployments,
        sum(case when is_change_failure then 1 else 0 end) as change_failures
    from deployment_events_by_team
    group by week_start, team

),

change_stats as (

    select
        week_start,
        team,
        count(*) as changes,
        {{ percentile_cont('lead_time_hours', 0.5) }} as lead_time_p50_hours,
        {{ percentile_cont('lead_time_hours', 0.95) }} as lead_time_p95_hours
    from change_events_by_team
    group by week_start, team

),

unassigned_events as (

    select team from deployment_events
    where team = 'unassigned'
    union all
    select team from change_events
    where team = 'unassigned'

),

teams as (

    select team from catalog_teams
    union all
    select 'all' as team
    union all
    select distinct team from unassigned_events

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
        coalesce(deployment_counts.deployments, 0) as deployments,
        coalesce(deployment_counts.failed_deployments, 0) as failed_deployments,
        coalesce(deployment_counts.rollbacks, 0) as rollbacks,
        coalesce(deployment_counts.rolled_back_deployments, 0) as rolled_back_deployments,
        coalesce(deployment_counts.change_failures, 0) as change_failures,
        coalesce(change_stats.changes, 0) as changes,
        change_stats.lead_time_p50_hours,
        change_stats.lead_time_p95_hours,
        grid.is_complete
    from grid
    left join deployment_counts
        on
            grid.week_start = deployment_counts.week_start
            and grid.team = deployment_counts.team
    left join change_stats
        on
            grid.week_start = change_stats.week_start
            and grid.team = change_stats.team

),

final as (

    select
        week_start,
        team,
        cast(deployments as bigint) as deployments,
        cast(failed_deployments as bigint) as failed_deployments,
        cast(rollbacks as bigint) as rollbacks,
        cast(rolled_back_deployments as bigint) as rolled_back_deployments,
        {{ safe_divide('rolled_back_deployments', 'deployments - rollbacks') }} as rollback_rate,
        cast(change_failures as bigint) as change_failures,
        {{ safe_divide('change_failures', 'deployments - rollbacks') }} as change_failure_rate,
        cast(changes as bigint) as changes,
        cast(lead_time_p50_hours as double precision) as lead_time_p50_hours,
        cast(lead_time_p95_hours as double precision) as lead_time_p95_hours,
        cast(changes as bigint) as n,
        is_complete
    from joined

)

select * from final

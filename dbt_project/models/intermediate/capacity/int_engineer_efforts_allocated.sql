-- The effort model, in FTE-weeks, per engineer, ISO week and work category. An engineer's
-- incident share of a week, min(own incident ops hours / 40, 1), goes to 'unplanned' (hours
-- of resolved incidents, from the responder's first acknowledgement to resolved_at, in the
-- week of the incident's created_at); the rest is split equally over the pull requests they
-- authored that were merged that week (into any branch), by each PR's category. A week with
-- no merged PR counts only its incident share. Rows only where fte_weeks > 0.
with

responders as (

    select * from {{ ref('int_incident_responders_aggregated') }}

),

incidents as (

    select * from {{ ref('int_incidents_timed') }}

),

responders_mapped as (

    select * from {{ ref('int_responders_mapped') }}

),

pull_requests as (

    select * from {{ ref('int_pull_requests_classified') }}

),

members as (

    select * from {{ ref('int_members_deduplicated') }}

),

incident_hours as (

    select
        responders_mapped.engineer_id,
        responders_mapped.team,
        {{ iso_week_start('incidents.created_at') }} as week_start,
        sum(
            {{ seconds_between('responders.first_acknowledged_at', 'incidents.resolved_at') }}
            / 3600.0
        ) as incident_hours
    from responders
    inner join incidents
        on responders.incident_id = incidents.incident_id
    inner join responders_mapped
        on responders.user_id = responders_mapped.user_id
    where incidents.resolved_at is not null
    group by
        responders_mapped.engineer_id,
        responders_mapped.team,
        {{ iso_week_start('incidents.created_at') }}

),

authored_pull_requests as (

    select
        'github:' || pull_requests.author as engineer_id,
        coalesce(members.team, 'unassigned') as team,
        {{ iso_week_start('pull_requests.merged_at') }} as week_start,
        pull_requests.category
    from pull_requests
    left join members
        on pull_requests.author = members.github_login
    where pull_requests.author is not null

),

pull_request_counts as (

    select
        engineer_id,
        team,
        week_start,
        category,
        count(*) as pull_requests,
        sum(count(*)) over (partition by engineer_id, week_start) as week_pull_requests
    from authored_pull_requests
    group by engineer_id, team, week_start, category

),

engineer_weeks as (

    select
        engineer_id,
        team,
        week_start
    from incident_hours
    union
    select
        engineer_id,
        team,
        week_start
    from pull_request_counts

),

incident_shares as (

    select
        engineer_weeks.engineer_id,
        engineer_weeks.team,
        engineer_weeks.week_start,
        least(coalesce(incident_hours.incident_hours, 0) / 40.0, 1.0) as incident_share
    from engineer_weeks
    left join incident_hours
        on
            engineer_weeks.engineer_id = incident_hours.engineer_id
            and engineer_weeks.week_start = incident_hours.week_start

),

efforts as (

    select
        engineer_id,
        team,
        week_start,
        'unplanned' as category,
        incident_share as fte_weeks
    from incident_shares

    union all

    select
        pull_request_counts.engineer_id,
        pull_request_counts.team,
        pull_request_counts.week_start,
        pull_request_counts.category,
        (1 - incident_shares.incident_share)
        * pull_request_counts.pull_requests
        / cast(pull_request_counts.week_pull_requests as double precision) as fte_weeks
    from pull_request_counts
    inner join incident_shares
        on
            pull_request_counts.engineer_id = incident_shares.engineer_id
            and pull_request_counts.week_start = incident_shares.week_start

),

allocated as (

    select
        engineer_id,
        team,
        week_start,
        category,
        sum(fte_weeks) as fte_weeks
    from efforts
    group by engineer_id, team, week_start, category

),

final as (

    select * from allocated
    where fte_weeks > 0

)

select * from final

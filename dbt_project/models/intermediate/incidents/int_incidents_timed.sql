-- One row per incident with what the KPIs read: the first acknowledgement, the resolution (the
-- resolved_at field, else the first resolve log entry; NULL unless the incident is resolved),
-- the number of responders, the owning team, the response times and the ops hours (time to
-- resolve × max(1, responders); none while unresolved).
with

incidents as (

    select * from {{ ref('stg_pagerduty__incidents') }}

),

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

responders as (

    select * from {{ ref('int_incident_responders_aggregated') }}

),

team_services as (

    select * from {{ ref('stg_catalog__team_services') }}

),

first_log_entries as (

    select
        incident_id,
        min(
            case when log_entry_type = 'acknowledge_log_entry' then created_at end
        ) as first_acknowledged_at,
        min(
            case when log_entry_type = 'resolve_log_entry' then created_at end
        ) as first_resolved_at
    from log_entries
    where incident_id is not null
    group by incident_id

),

responder_counts as (

    select
        incident_id,
        count(*) as responders
    from responders
    group by incident_id

),

timed as (

    select
        incidents.incident_id,
        incidents.service_id,
        team_services.team,
        incidents.urgency,
        incidents.status,
        incidents.created_at,
        first_log_entries.first_acknowledged_at as acknowledged_at,
        case
            when incidents.status = 'resolved'
                then coalesce(incidents.resolved_at, first_log_entries.first_resolved_at)
        end as resolved_at,
        coalesce(responder_counts.responders, 0) as responders
    from incidents
    left join first_log_entries
        on incidents.incident_id = first_log_entries.incident_id
    left join responder_counts
        on incidents.incident_id = responder_counts.incident_id
    left join team_services
        on incidents.service_id = team_services.service_id

),

measured as (

    select
        *,
        {{ seconds_between('created_at', 'acknowledged_at') }} / 60.0 as time_to_ack_minutes,
        {{ seconds_between('created_at', 'resolved_at') }} / 3600.0 as time_to_resolve_hours
    from timed

),

final as (

    select
        *,
        time_to_resolve_hours * greatest(responders, 1) as ops_hours
    from measured

)

select * from final

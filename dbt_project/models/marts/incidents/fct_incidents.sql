-- One row per PagerDuty incident: response times, responders and the operational hours it
-- cost (time to resolve × max(1, responders); none while unresolved).
with

incidents as (

    select * from {{ ref('int_incidents_timed') }}

),

final as (

    select
        incident_id,
        service_id,
        team,
        urgency,
        status,
        {{ utc_timestamptz('created_at') }} as created_at,
        {{ utc_timestamptz('acknowledged_at') }} as acknowledged_at,
        {{ utc_timestamptz('resolved_at') }} as resolved_at,
        cast(time_to_ack_minutes as double precision) as time_to_ack_minutes,
        cast(time_to_resolve_hours as double precision) as time_to_resolve_hours,
        cast(responders as bigint) as responders,
        cast(ops_hours as double precision) as ops_hours
    from incidents

)

select * from final

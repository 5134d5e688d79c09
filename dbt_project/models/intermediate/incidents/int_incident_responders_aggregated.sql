-- One row per incident and responder: a PagerDuty user with an acknowledge log entry on it,
-- and when they first acknowledged.
with

log_entries as (

    select * from {{ ref('stg_pagerduty__log_entries') }}

),

acknowledgements as (

    select
        incident_id,
        agent_id as user_id,
        created_at as acknowledged_at
    from log_entries
    where
        log_entry_type = 'acknowledge_log_entry'
        and agent_type = 'user_reference'
        and incident_id is not null
        and agent_id is not null

),

aggregated as (

    select
        incident_id,
        user_id,
        min(acknowledged_at) as first_acknowledged_at
    from acknowledgements
    group by incident_id, user_id

),

final as (

    select * from aggregated

)

select * from final

-- One row per ticket: its latest metric set (the raw key is the ticket id or the metric id).
with

source as (

    select * from {{ latest_versions(source('zendesk', 'ticket_metrics')) }}

),

renamed as (

    select
        ingest_id as _ingest_id,
        {{ json_bigint('record', 'id') }} as ticket_metric_id,
        {{ json_bigint('record', 'ticket_id') }} as ticket_id,
        {{ json_bigint('record', 'reopens') }} as reopens,
        {{ json_bigint('record', 'replies') }} as replies,
        {{ json_number('record', 'reply_time_in_minutes.calendar') }}
            as reply_time_calendar_minutes,
        {{ json_number('record', 'reply_time_in_minutes.business') }}
            as reply_time_business_minutes,
        {{ json_number('record', 'first_resolution_time_in_minutes.calendar') }}
            as first_resolution_time_calendar_minutes,
        {{ json_number('record', 'full_resolution_time_in_minutes.calendar') }}
            as full_resolution_time_calendar_minutes,
        {{ json_number('record', 'full_resolution_time_in_minutes.business') }}
            as full_resolution_time_business_minutes,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ json_timestamp('record', 'assigned_at') }} as assigned_at,
        {{ json_timestamp('record', 'initially_assigned_at') }} as initially_assigned_at,
        {{ json_timestamp('record', 'solved_at') }} as solved_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

latest_per_ticket as (

    select
        ticket_id,
        max(_ingest_id) as _ingest_id
    from renamed
    group by ticket_id

),

final as (

    select renamed.*
    from renamed
    inner join latest_per_ticket
        on renamed._ingest_id = latest_per_ticket._ingest_id

)

select * from final

{{
    config(
        materialized='incremental',
        unique_key='_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

with

source as (

    select * from {{ latest_versions(source('pagerduty', 'log_entries')) }}

),

renamed as (

    select
        coalesce({{ json_text('record', 'id') }}, record_key) as log_entry_id,
        {{ json_text('record', 'type') }} as log_entry_type,
        {{ json_text('record', 'incident.id') }} as incident_id,
        {{ json_text('record', 'service.id') }} as service_id,
        {{ json_text('record', 'agent.id') }} as agent_id,
        {{ json_text('record', 'agent.type') }} as agent_type,
        {{ json_text('record', 'channel.type') }} as channel_type,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select * from renamed

)

select * from final

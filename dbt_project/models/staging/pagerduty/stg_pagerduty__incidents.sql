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

    select * from {{ latest_versions(source('pagerduty', 'incidents')) }}

),

renamed as (

    select
        coalesce({{ json_text('record', 'id') }}, record_key) as incident_id,
        {{ json_bigint('record', 'incident_number') }} as incident_number,
        {{ json_text('record', 'title') }} as title,
        {{ json_text('record', 'status') }} as status,
        {{ json_text('record', 'urgency') }} as urgency,
        {{ json_text('record', 'service.id') }} as service_id,
        {{ json_text('record', 'escalation_policy.id') }} as escalation_policy_id,
        {{ json_text('record', 'priority.summary') }} as priority_name,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ json_timestamp('record', 'resolved_at') }} as resolved_at,
        {{ json_timestamp('record', 'last_status_change_at') }} as last_status_change_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select * from renamed

)

select * from final

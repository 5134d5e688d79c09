-- Tickets, deleted ones included (status 'deleted'). Subject, description and the people on a
-- ticket are dropped.
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

    select * from {{ latest_versions(source('zendesk', 'tickets')) }}

),

renamed as (

    select
        coalesce(
            {{ json_bigint('record', 'id') }}, {{ text_to_bigint('record_key') }}
        ) as ticket_id,
        {{ json_bigint('record', 'organization_id') }} as organization_id,
        {{ json_text('record', 'status') }} as status,
        {{ json_text('record', 'type') }} as ticket_type,
        {{ json_text('record', 'priority') }} as priority,
        {{ json_text('record', 'via.channel') }} as via_channel,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ epoch_to_timestamp(json_number('record', 'generated_timestamp')) }} as generated_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select
        *,
        coalesce(status = 'deleted', false) as is_deleted
    from renamed

)

select * from final

-- One row per ticket and tag (the tags[] of the latest ticket version).
{{
    config(
        materialized='incremental',
        unique_key='_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_superseded(source('zendesk', 'tickets')) }}",
    )
}}

with

source as (

    select * from {{ latest_versions(source('zendesk', 'tickets')) }}

),

renamed as (

    select distinct
        coalesce(
            {{ json_bigint('source.record', 'id') }}, {{ text_to_bigint('source.record_key') }}
        ) as ticket_id,
        {{ json_text('ticket_tag.element', '') }} as tag,
        source.record_key as _record_key,
        source.ingest_id as _ingest_id
    from source
    cross join {{ json_array_elements('source.record', 'tags', 'ticket_tag') }}

),

final as (

    select * from renamed
    where tag is not null

)

select * from final

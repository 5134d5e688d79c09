-- One row per ticket and custom field. field_value is the text of a scalar value (a string,
-- number or boolean); array and object values keep only their value_type.
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

    select
        coalesce(
            {{ json_bigint('source.record', 'id') }}, {{ text_to_bigint('source.record_key') }}
        ) as ticket_id,
        {{ json_bigint('custom_field.element', 'id') }} as field_id,
        {{ json_type('custom_field.element', 'value') }} as value_type,
        case
            when
                {{ json_type('custom_field.element', 'value') }}
                in ('string', 'number', 'boolean')
                then {{ json_text('custom_field.element', 'value') }}
        end as field_value,
        {{ json_number('custom_field.element', 'value') }} as field_value_number,
        source.record_key as _record_key,
        source.ingest_id as _ingest_id
    from source
    cross join {{ json_array_elements('source.record', 'custom_fields', 'custom_field') }}

),

final as (

    select * from renamed

)

select * from final

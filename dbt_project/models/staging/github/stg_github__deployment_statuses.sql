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

    select * from {{ latest_versions(source('github', 'deployment_statuses')) }}

),

renamed as (

    select
        coalesce(
            {{ json_bigint('record', 'id') }},
            {{ text_to_bigint("split_part(record_key, '#', 3)") }}
        ) as deployment_status_id,
        coalesce(
            {{ json_bigint('context', 'deployment_id') }},
            {{ text_to_bigint("split_part(record_key, '#', 2)") }}
        ) as deployment_id,
        coalesce(
            {{ json_text('context', 'repo') }}, split_part(record_key, '#', 1)
        ) as repo,
        {{ json_text('record', 'state') }} as state,
        {{ json_text('record', 'environment') }} as environment,
        {{ json_text('record', 'description') }} as description,
        {{ json_text('record', 'creator.login') }} as creator_login,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select * from renamed

)

select * from final

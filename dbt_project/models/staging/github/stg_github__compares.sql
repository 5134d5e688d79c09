-- One row per compare base...head; a compare GitHub could not answer has its http_status (404)
-- and no commits.
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

    select * from {{ latest_versions(source('github', 'compares')) }}

),

renamed as (

    select
        coalesce(
            {{ json_text('context', 'repo') }}, split_part(record_key, '#', 1)
        ) as repo,
        coalesce(
            {{ json_text('context', 'base') }},
            split_part(split_part(record_key, '#', 2), '...', 1)
        ) as base_sha,
        coalesce(
            {{ json_text('context', 'head') }},
            split_part(split_part(record_key, '#', 2), '...', 2)
        ) as head_sha,
        {{ json_bigint('context', 'http_status') }} as http_status,
        {{ json_text('record', 'status') }} as compare_status,
        {{ json_bigint('record', 'ahead_by') }} as ahead_by,
        {{ json_bigint('record', 'behind_by') }} as behind_by,
        {{ json_bigint('record', 'total_commits') }} as total_commits,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select
        *,
        coalesce(http_status, 200) < 400 as is_available
    from renamed

)

select * from final

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

    select * from {{ latest_versions(source('github', 'workflow_runs')) }}

),

renamed as (

    select
        coalesce(
            {{ json_bigint('record', 'id') }},
            {{ text_to_bigint("split_part(record_key, '#', 2)") }}
        ) as workflow_run_id,
        coalesce(
            {{ json_text('context', 'repo') }}, split_part(record_key, '#', 1)
        ) as repo,
        {{ json_bigint('record', 'workflow_id') }} as workflow_id,
        {{ json_text('record', 'name') }} as workflow_name,
        {{ json_text('record', 'head_branch') }} as head_branch,
        {{ json_text('record', 'head_sha') }} as head_sha,
        {{ json_text('record', 'event') }} as trigger_event,
        {{ json_text('record', 'status') }} as status,
        {{ json_text('record', 'conclusion') }} as conclusion,
        {{ json_bigint('record', 'run_number') }} as run_number,
        {{ json_bigint('record', 'run_attempt') }} as run_attempt,
        {{ json_text('record', 'actor.login') }} as actor_login,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'run_started_at') }} as run_started_at,
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

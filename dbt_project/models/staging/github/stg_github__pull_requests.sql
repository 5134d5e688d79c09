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

    select * from {{ latest_versions(source('github', 'pull_requests')) }}

),

renamed as (

    select
        {{ json_bigint('record', 'id') }} as pull_request_id,
        coalesce(
            {{ json_text('context', 'repo') }}, split_part(record_key, '#', 1)
        ) as repo,
        coalesce(
            {{ json_bigint('record', 'number') }},
            {{ text_to_bigint("split_part(record_key, '#', 2)") }}
        ) as pr_number,
        {{ json_text('record', 'title') }} as title,
        {{ json_text('record', 'state') }} as state,
        {{ json_text('record', 'user.login') }} as author_login,
        {{ json_text('record', 'head.ref') }} as head_ref,
        {{ json_text('record', 'base.ref') }} as base_ref,
        {{ json_boolean('record', 'draft') }} as is_draft,
        {{ json_text('record', 'merge_commit_sha') }} as merge_commit_sha,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ json_timestamp('record', 'closed_at') }} as closed_at,
        {{ json_timestamp('record', 'merged_at') }} as merged_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select
        *,
        merged_at is not null as is_merged
    from renamed

)

select * from final

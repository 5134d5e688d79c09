-- One row per compare and commit, in GitHub's order (oldest first): the commits a deployment
-- of head_sha shipped after the one of base_sha.
{{
    config(
        materialized='incremental',
        unique_key='_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_superseded(source('github', 'compares')) }}",
    )
}}

with

source as (

    select * from {{ latest_versions(source('github', 'compares')) }}

),

renamed as (

    select
        coalesce(
            {{ json_text('source.context', 'repo') }}, split_part(source.record_key, '#', 1)
        ) as repo,
        coalesce(
            {{ json_text('source.context', 'base') }},
            split_part(split_part(source.record_key, '#', 2), '...', 1)
        ) as base_sha,
        coalesce(
            {{ json_text('source.context', 'head') }},
            split_part(split_part(source.record_key, '#', 2), '...', 2)
        ) as head_sha,
        compare_commit.ordinal as commit_position,
        {{ json_text('compare_commit.element', 'sha') }} as commit_sha,
        {{ json_text('compare_commit.element', 'author.login') }} as author_login,
        {{ json_timestamp('compare_commit.element', 'commit.author.date') }} as authored_at,
        source.record_key as _record_key,
        source.ingest_id as _ingest_id
    from source
    cross join {{ json_array_elements('source.record', 'commits', 'compare_commit') }}

),

final as (

    select * from renamed

)

select * from final

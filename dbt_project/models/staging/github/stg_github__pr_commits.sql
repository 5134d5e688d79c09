-- The commits of each pull request (at most 250, as GitHub lists them); names and e-mails of
-- the git author are dropped, the GitHub login is kept for attribution.
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

    select * from {{ latest_versions(source('github', 'pr_commits')) }}

),

renamed as (

    select
        coalesce(
            {{ json_text('context', 'repo') }}, split_part(record_key, '#', 1)
        ) as repo,
        coalesce(
            {{ json_bigint('context', 'pull_number') }},
            {{ text_to_bigint("split_part(record_key, '#', 2)") }}
        ) as pr_number,
        coalesce(
            {{ json_text('record', 'sha') }}, split_part(record_key, '#', 3)
        ) as commit_sha,
        {{ json_text('record', 'author.login') }} as author_login,
        {{ json_timestamp('record', 'commit.author.date') }} as authored_at,
        {{ json_timestamp('record', 'commit.committer.date') }} as committed_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at,
        record_key as _record_key,
        ingest_id as _ingest_id
    from source

),

final as (

    select * from renamed

)

select * from final

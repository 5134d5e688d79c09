-- One row per pull request and label (the labels[] of the latest pull request version).
{{
    config(
        materialized='incremental',
        unique_key='_record_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_superseded(source('github', 'pull_requests')) }}",
    )
}}

with

source as (

    select * from {{ latest_versions(source('github', 'pull_requests')) }}

),

renamed as (

    select
        coalesce(
            {{ json_text('source.context', 'repo') }}, split_part(source.record_key, '#', 1)
        ) as repo,
        coalesce(
            {{ json_bigint('source.record', 'number') }},
            {{ text_to_bigint("split_part(source.record_key, '#', 2)") }}
        ) as pr_number,
        {{ json_bigint('label.element', 'id') }} as label_id,
        {{ json_text('label.element', 'name') }} as label_name,
        label.ordinal as label_position,
        source.record_key as _record_key,
        source.ingest_id as _ingest_id
    from source
    cross join {{ json_array_elements('source.record', 'labels', 'label') }}

),

final as (

    select * from renamed
    where label_name is not null

)

select * from final

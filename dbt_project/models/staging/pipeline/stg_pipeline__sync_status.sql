-- The sync status of every source stream, from the three raw layers. Columns a raw layer
-- lacks (an older file) come out as typed NULLs.
{%- set columns = [
    ['source', 'text'], ['stream', 'text'], ['status', 'text'],
    ['last_attempt_at', 'timestamptz'], ['last_success_at', 'timestamptz'],
    ['records', 'bigint'], ['requests', 'bigint'], ['retries', 'bigint'],
    ['throttled_seconds', 'double precision'], ['cursor', 'text'], ['error', 'text'],
    ['as_of', 'timestamptz'],
] %}

with

github as (

    select {{ columns_or_null(source('github', 'pipeline_sync_status'), columns) }}
    from {{ source('github', 'pipeline_sync_status') }}

),

pagerduty as (

    select {{ columns_or_null(source('pagerduty', 'pipeline_sync_status'), columns) }}
    from {{ source('pagerduty', 'pipeline_sync_status') }}

),

zendesk as (

    select {{ columns_or_null(source('zendesk', 'pipeline_sync_status'), columns) }}
    from {{ source('zendesk', 'pipeline_sync_status') }}

),

unioned as (

    select * from github
    union all
    select * from pagerduty
    union all
    select * from zendesk

),

renamed as (

    select
        source,
        stream,
        status,
        {{ to_utc_timestamp('last_attempt_at') }} as last_attempt_at,
        {{ to_utc_timestamp('last_success_at') }} as last_success_at,
        records,
        requests,
        retries,
        throttled_seconds,
        cursor,
        error,
        {{ to_utc_timestamp('as_of') }} as as_of
    from unioned

),

final as (

    select * from renamed

)

select * from final

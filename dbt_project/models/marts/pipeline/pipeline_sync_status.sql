-- How fresh and how complete each source stream is: what a BI user checks before trusting a
-- number.
with

sync_status as (

    select * from {{ ref('stg_pipeline__sync_status') }}

),

final as (

    select
        source,
        stream,
        status,
        {{ utc_timestamptz('last_attempt_at') }} as last_attempt_at,
        {{ utc_timestamptz('last_success_at') }} as last_success_at,
        records,
        requests,
        retries,
        throttled_seconds,
        cursor,
        error,
        {{ utc_timestamptz('as_of') }} as as_of
    from sync_status

)

select * from final

-- PagerDuty users. The name is dropped; the e-mail (lower-cased) is kept only to map users to
-- catalog members known by e-mail, and goes no further than the intermediate layer.
with

source as (

    select * from {{ latest_versions(source('pagerduty', 'users')) }}

),

renamed as (

    select
        coalesce({{ json_text('record', 'id') }}, record_key) as user_id,
        lower(trim({{ json_text('record', 'email') }})) as email,
        {{ json_text('record', 'role') }} as user_role,
        {{ json_text('record', 'time_zone') }} as time_zone,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ latest_versions(source('pagerduty', 'teams')) }}

),

renamed as (

    select
        coalesce({{ json_text('record', 'id') }}, record_key) as team_id,
        {{ json_text('record', 'name') }} as team_name,
        {{ json_text('record', 'description') }} as description,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

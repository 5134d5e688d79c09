with

source as (

    select * from {{ latest_versions(source('pagerduty', 'services')) }}

),

renamed as (

    select
        coalesce({{ json_text('record', 'id') }}, record_key) as service_id,
        {{ json_text('record', 'name') }} as service_name,
        {{ json_text('record', 'status') }} as status,
        {{ json_text('record', 'escalation_policy.id') }} as escalation_policy_id,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'last_incident_timestamp') }} as last_incident_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

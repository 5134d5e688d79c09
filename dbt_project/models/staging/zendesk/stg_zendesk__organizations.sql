-- Organizations are the customers. Names are dropped.
with

source as (

    select * from {{ latest_versions(source('zendesk', 'organizations')) }}

),

renamed as (

    select
        coalesce(
            {{ json_bigint('record', 'id') }}, {{ text_to_bigint('record_key') }}
        ) as organization_id,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ json_timestamp('record', 'deleted_at') }} as deleted_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ latest_versions(source('github', 'repositories')) }}

),

renamed as (

    select
        record_key as repo,
        {{ json_bigint('record', 'id') }} as repository_id,
        {{ json_text('record', 'full_name') }} as full_name,
        {{ json_text('record', 'default_branch') }} as default_branch,
        {{ json_text('record', 'visibility') }} as visibility,
        {{ json_boolean('record', 'private') }} as is_private,
        {{ json_boolean('record', 'archived') }} as is_archived,
        {{ json_boolean('record', 'fork') }} as is_fork,
        {{ json_timestamp('record', 'created_at') }} as created_at,
        {{ json_timestamp('record', 'updated_at') }} as updated_at,
        {{ json_timestamp('record', 'pushed_at') }} as pushed_at,
        {{ to_utc_timestamp('extracted_at') }} as _extracted_at
    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('history', 'publications') }}

),

renamed as (

    select
        publication_id,
        {{ to_utc_timestamp('published_at') }} as published_at,
        {{ to_utc_timestamp('as_of') }} as as_of
    from source

),

final as (

    select * from renamed

)

select * from final

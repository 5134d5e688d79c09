with

source as (

    select * from {{ source('catalog', 'catalog_trust_tags') }}

),

renamed as (

    select tag
    from source

),

final as (

    select * from renamed

)

select * from final

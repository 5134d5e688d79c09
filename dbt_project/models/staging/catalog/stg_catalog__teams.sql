with

source as (

    select * from {{ source('catalog', 'catalog_teams') }}

),

renamed as (

    select team
    from source

),

final as (

    select * from renamed

)

select * from final

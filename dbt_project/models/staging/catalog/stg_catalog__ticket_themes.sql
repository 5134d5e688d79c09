with

source as (

    select * from {{ source('catalog', 'catalog_ticket_themes') }}

),

renamed as (

    select
        theme,
        tag
    from source

),

final as (

    select * from renamed

)

select * from final

with

source as (

    select * from {{ source('catalog', 'catalog_team_services') }}

),

renamed as (

    select
        team,
        service_id
    from source

),

final as (

    select * from renamed

)

select * from final

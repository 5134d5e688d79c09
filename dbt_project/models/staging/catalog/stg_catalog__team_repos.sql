with

source as (

    select * from {{ source('catalog', 'catalog_team_repos') }}

),

renamed as (

    select
        team,
        repo
    from source

),

final as (

    select * from renamed

)

select * from final

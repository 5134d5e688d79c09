with

source as (

    select * from {{ source('catalog', 'catalog_repositories') }}

),

renamed as (

    select
        repo,
        team,
        deployment_signal,
        workflow_pattern
    from source

),

final as (

    select * from renamed

)

select * from final

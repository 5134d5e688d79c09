with

source as (

    select * from {{ source('catalog', 'catalog_settings') }}

),

renamed as (

    select
        production_environment_pattern,
        default_workflow_pattern,
        incident_window_hours,
        hourly_cost,
        handle_time_field_id,
        billing_export
    from source

),

final as (

    select * from renamed

)

select * from final

-- One row per Zendesk ticket (deleted ones included) with what the support KPIs read: the
-- metric set's solved_at, whether it carries a trust tag, and its handle time from the
-- catalog's handle-time field (seconds, a number or numeric text; NULL when the ticket lacks
-- the field, its value is null or no field is configured).
with

tickets as (

    select * from {{ ref('stg_zendesk__tickets') }}

),

ticket_metrics as (

    select * from {{ ref('stg_zendesk__ticket_metrics') }}

),

ticket_tags as (

    select * from {{ ref('stg_zendesk__ticket_tags') }}

),

ticket_custom_fields as (

    select * from {{ ref('stg_zendesk__ticket_custom_fields') }}

),

trust_tags as (

    select * from {{ ref('stg_catalog__trust_tags') }}

),

settings as (

    select * from {{ ref('stg_catalog__settings') }}

),

trust_tickets as (

    select distinct ticket_tags.ticket_id
    from ticket_tags
    inner join trust_tags
        on ticket_tags.tag = trust_tags.tag

),

handle_times as (

    select
        ticket_custom_fields.ticket_id,
        ticket_custom_fields.field_value_number / 3600.0 as handle_hours
    from ticket_custom_fields
    inner join settings
        on ticket_custom_fields.field_id = settings.handle_time_field_id

),

enriched as (

    select
        tickets.ticket_id,
        tickets.organization_id,
        tickets.created_at,
        ticket_metrics.solved_at,
        tickets.status,
        tickets.ticket_type,
        tickets.is_deleted,
        trust_tickets.ticket_id is not null as is_trust,
        handle_times.handle_hours
    from tickets
    left join ticket_metrics
        on tickets.ticket_id = ticket_metrics.ticket_id
    left join trust_tickets
        on tickets.ticket_id = trust_tickets.ticket_id
    left join handle_times
        on tickets.ticket_id = handle_times.ticket_id

),

final as (

    select * from enriched

)

select * from final

-- One row per Zendesk ticket, deleted tickets included (status 'deleted'): the support KPIs'
-- events, with trust flag and handle time.
with

tickets as (

    select * from {{ ref('int_tickets_enriched') }}

),

final as (

    select
        ticket_id,
        organization_id,
        {{ utc_timestamptz('created_at') }} as created_at,
        {{ utc_timestamptz('solved_at') }} as solved_at,
        status,
        ticket_type as type,  -- noqa: RF04
        is_trust,
        cast(handle_hours as double precision) as handle_hours
    from tickets

)

select * from final

-- One row per ticket and theme it belongs to: every theme one of whose tags the ticket
-- carries (tags compared exactly, case-sensitive, as the trust tags are). A ticket with tags
-- of several themes belongs to each; one with no theme tag has no row. Deleted tickets are
-- kept (is_deleted) for the marts to exclude.
with

tickets as (

    select * from {{ ref('int_tickets_enriched') }}

),

ticket_tags as (

    select * from {{ ref('stg_zendesk__ticket_tags') }}

),

ticket_themes as (

    select * from {{ ref('stg_catalog__ticket_themes') }}

),

matched as (

    select distinct
        ticket_tags.ticket_id,
        ticket_themes.theme
    from ticket_tags
    inner join ticket_themes
        on ticket_tags.tag = ticket_themes.tag

),

joined as (

    select
        matched.ticket_id,
        matched.theme,
        tickets.created_at,
        tickets.is_deleted
    from matched
    inner join tickets
        on matched.ticket_id = tickets.ticket_id

),

final as (

    select * from joined

)

select * from final

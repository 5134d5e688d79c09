-- How much of the raw activity the KPIs can see: for each mapping the marts rely on, how many
-- events it covers out of how many. A low share says the catalog or an integration needs
-- attention before the numbers are trusted.
with

deployments as (

    select * from {{ ref('fct_deployments') }}

),

changes as (

    select * from {{ ref('fct_changes') }}

),

incidents as (

    select * from {{ ref('fct_incidents') }}

),

pull_requests as (

    select * from {{ ref('int_pull_requests_classified') }}

),

members as (

    select * from {{ ref('int_members_deduplicated') }}

),

pull_request_authors as (

    select
        pull_requests.category,
        members.github_login is not null as is_author_mapped
    from pull_requests
    left join members
        on pull_requests.author = members.github_login

),

counted as (

    select
        'deployments_compare_linked' as metric,
        sum(case when is_compare_linked then 1 else 0 end) as covered,
        count(*) as total
    from deployments
    where succeeded

    union all

    select
        'changes_deployed' as metric,
        count(deployment_id) as covered,
        count(*) as total
    from changes

    union all

    select
        'incidents_team_mapped' as metric,
        count(team) as covered,
        count(*) as total
    from incidents

    union all

    select
        'prs_classified' as metric,
        sum(case when category = 'unclassified' then 0 else 1 end) as covered,
        count(*) as total
    from pull_request_authors

    union all

    select
        'authors_mapped' as metric,
        sum(case when is_author_mapped then 1 else 0 end) as covered,
        count(*) as total
    from pull_request_authors

),

final as (

    select
        metric,
        cast(coalesce(covered, 0) as bigint) as covered,
        cast(total as bigint) as total,
        {{ safe_divide('covered', 'total') }} as share  -- noqa: RF04
    from counted

)

select * from final

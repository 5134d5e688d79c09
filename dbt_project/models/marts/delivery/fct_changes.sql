-- One row per change: a pull request merged into its repository's default branch, with the
-- deployment that shipped it, its lead time and stages (hours), and its capacity category.
with

changes as (

    select * from {{ ref('int_changes_attributed') }}

),

final as (

    select
        repo,
        team,
        cast(pr_number as bigint) as pr_number,
        author,
        {{ utc_timestamptz('first_commit_at') }} as first_commit_at,
        {{ utc_timestamptz('created_at') }} as created_at,
        {{ utc_timestamptz('merged_at') }} as merged_at,
        {{ utc_timestamptz('deployed_at') }} as deployed_at,
        cast(deployment_id as bigint) as deployment_id,
        attribution,
        cast(lead_time_hours as double precision) as lead_time_hours,
        cast(coding_hours as double precision) as coding_hours,
        cast(review_hours as double precision) as review_hours,
        cast(deploy_hours as double precision) as deploy_hours,
        category,
        merge_commit_sha
    from changes

)

select * from final

-- Every merged pull request (into any branch) with its team, its capacity category and
-- whether it is a change (merged into the repository's default branch).
with

pull_requests as (

    select * from {{ ref('stg_github__pull_requests') }}

),

pull_request_labels as (

    select * from {{ ref('stg_github__pull_request_labels') }}

),

repositories as (

    select * from {{ ref('stg_github__repositories') }}

),

catalog_repositories as (

    select * from {{ ref('stg_catalog__repositories') }}

),

catalog_labels as (

    select * from {{ ref('stg_catalog__labels') }}

),

merged_pull_requests as (

    select
        pull_requests.repo,
        pull_requests.pr_number,
        pull_requests.pull_request_id,
        pull_requests.title,
        pull_requests.author_login,
        pull_requests.head_ref,
        pull_requests.base_ref,
        pull_requests.merge_commit_sha,
        pull_requests.created_at,
        pull_requests.merged_at,
        repositories.default_branch
    from pull_requests
    left join repositories
        on pull_requests.repo = repositories.repo
    where pull_requests.merged_at is not null

),

-- Labels match the classification by exact name; the category of highest priority wins.
label_matches as (

    select
        pull_request_labels.repo,
        pull_request_labels.pr_number,
        catalog_labels.category,
        row_number() over (
            partition by pull_request_labels.repo, pull_request_labels.pr_number
            order by catalog_labels.priority_rank, catalog_labels.category
        ) as match_rank
    from pull_request_labels
    inner join catalog_labels
        on pull_request_labels.label_name = catalog_labels.label

),

classified as (

    select
        merged_pull_requests.repo,
        catalog_repositories.team,
        merged_pull_requests.pr_number,
        merged_pull_requests.pull_request_id,
        merged_pull_requests.author_login as author,
        merged_pull_requests.head_ref,
        merged_pull_requests.base_ref,
        merged_pull_requests.merge_commit_sha,
        merged_pull_requests.created_at,
        merged_pull_requests.merged_at,
        case
            when lower(merged_pull_requests.title) like 'revert%' then 'unplanned'
            when lower(merged_pull_requests.title) like 'hotfix%' then 'unplanned'
            when lower(merged_pull_requests.head_ref) like 'hotfix/%' then 'unplanned'
            when label_matches.category is not null then label_matches.category
            else 'unclassified'
        end as category,
        coalesce(
            merged_pull_requests.base_ref = merged_pull_requests.default_branch, false
        ) as is_change
    from merged_pull_requests
    left join catalog_repositories
        on merged_pull_requests.repo = catalog_repositories.repo
    left join label_matches
        on
            merged_pull_requests.repo = label_matches.repo
            and merged_pull_requests.pr_number = label_matches.pr_number
            and label_matches.match_rank = 1

),

final as (

    select * from classified

)

select * from final

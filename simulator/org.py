"""The synthetic organisation: teams, people, repositories, services and customers.

Everything is a pure function of (seed, scale). Each domain model (GitHub, PagerDuty,
Zendesk) generates its whole timeline up to ``horizon`` at construction; the API shows it as
of the clock, so advancing the clock reveals the next day of activity deterministically.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from simulator.story import TICKET_THEMES, TRUST_TAGS, Story

TEAM_NAMES = [
    "checkout",
    "platform",
    "search",
    "payments",
    "identity",
    "growth",
    "mobile",
    "data",
    "infra",
    "billing",
    "messaging",
    "catalog",
]
FIRST_NAMES = [
    "dana",
    "omar",
    "yuki",
    "lena",
    "ravi",
    "sofia",
    "kwame",
    "ines",
    "tariq",
    "mei",
    "jonas",
    "ana",
    "li",
    "noah",
    "zara",
    "ivan",
    "amara",
    "felix",
    "hana",
    "diego",
    "priya",
    "tom",
    "nia",
    "oleg",
]
OWNER = "acme"
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: weeks line up with ISO weeks


@dataclass(frozen=True)
class Scale:
    teams: int = 3
    repos_per_team: int = 2
    members_per_team: int = 4
    days: int = 56
    activity: float = 1.0  # multiplies every per-day event rate
    customers: int = 40
    horizon_days: int = 60  # days the clock may advance past the initial "now"
    # How the organisation behaves. The defaults pack edge cases densely into a small
    # history for the tests; DEMO_SCALE looks like a real company.
    incidents_per_service_day: tuple[float, float] = (0.3, 1.0)  # each service's rate: U(a, b)
    long_incidents: float = 1.0  # scales the share of incidents left open for days
    tickets_per_customer_month: float | None = None  # None: ~6 tickets a day, any customers
    established_customers: float = 0.0  # the share of customers older than the history
    # Weights of a PR's labels (none, roadmap, platform, unplanned), the platform team's with
    # roadmap and platform swapped; None: any 0-2 categories, 30% unlabelled.
    pr_label_mix: tuple[float, float, float, float] | None = None
    cloud_bill: float | None = None  # the monthly cloud bill; None: 6,650
    story: Story | None = None  # platform bets shipped during the history


# The demo: a mid-size SaaS company (six teams, ~1,800 customers) over 30 weeks, long enough
# for 8-week windows either side of a bet's ship date, with three platform bets shipped.
DEMO_SCALE = Scale(
    teams=6,
    repos_per_team=2,
    members_per_team=5,
    days=210,
    activity=0.5,
    customers=1800,
    horizon_days=30,
    incidents_per_service_day=(0.3, 0.6),
    long_incidents=0.3,
    tickets_per_customer_month=0.075,
    established_customers=0.85,
    pr_label_mix=(0.12, 0.68, 0.17, 0.03),
    cloud_bill=62_000.0,
    story=Story(
        deploy_safety=date(2026, 3, 18),
        reconciliation=date(2026, 4, 22),
        access_controls=date(2026, 7, 8),
    ),
)


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    email: str
    pd_user_id: str
    team: str | None  # None: not in the catalog (an outsider)
    pd_in_catalog: bool = True  # False: the catalog maps this member by e-mail only


@dataclass
class TeamModel:
    name: str
    repos: list[str]
    services: list[str]
    members: list[Person]


@dataclass
class Org:
    seed: int
    scale: Scale
    teams: list[TeamModel]
    outsiders: list[Person]
    unmapped_services: list[str]
    workflow_repos: list[str]
    start: datetime = EPOCH
    budget_overrides: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def now0(self) -> datetime:
        """The clock's initial 'now': the end of the generated history."""
        return self.start + timedelta(days=self.scale.days)

    @property
    def horizon(self) -> datetime:
        return self.now0 + timedelta(days=self.scale.horizon_days)

    @property
    def people(self) -> list[Person]:
        return [p for t in self.teams for p in t.members] + self.outsiders

    @property
    def repos(self) -> list[str]:
        return [r for t in self.teams for r in t.repos]

    @property
    def services(self) -> list[str]:
        return [s for t in self.teams for s in t.services] + self.unmapped_services

    def team_of_repo(self, repo: str) -> str | None:
        return next((t.name for t in self.teams if repo in t.repos), None)

    def team_of_service(self, service_id: str) -> str | None:
        return next((t.name for t in self.teams if service_id in t.services), None)

    def rng(self, *parts: object) -> random.Random:
        """An independent, reproducible random stream per purpose."""
        digest = hashlib.sha256(repr((self.seed, *parts)).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    @classmethod
    def generate(cls, seed: int = 1, scale: Scale | None = None) -> Org:
        scale = scale or Scale()
        rng = random.Random(seed)
        names = [
            TEAM_NAMES[i % len(TEAM_NAMES)] + ("" if i < len(TEAM_NAMES) else str(i))
            for i in range(scale.teams)
        ]
        teams: list[TeamModel] = []
        person_no = 0

        def person(team: str | None) -> Person:
            nonlocal person_no
            first = FIRST_NAMES[person_no % len(FIRST_NAMES)]
            login = first if person_no < len(FIRST_NAMES) else f"{first}{person_no}"
            person_no += 1
            return Person(
                login=login,
                name=f"{first.title()} Example",
                email=f"{login}@acme.example",
                pd_user_id=f"PU{person_no:05d}",
                team=team,
            )

        for name in names:
            repos = [
                f"{OWNER}/{name}-{kind}"
                for kind in ["service", "web", "worker", "api", "jobs"][: scale.repos_per_team]
            ]
            services = [f"PS{name[:3].upper()}{i}" for i in range(1 + (len(name) % 2))]
            members = [person(name) for _ in range(scale.members_per_team)]
            teams.append(TeamModel(name, repos, services, members))
        # One member is known to the catalog by e-mail only, not by PagerDuty id.
        first = teams[0].members[-1]
        teams[0].members[-1] = Person(
            first.login, first.name, first.email, first.pd_user_id, first.team, pd_in_catalog=False
        )
        outsiders = [person(None) for _ in range(2)]
        workflow_repos = [teams[-1].repos[-1]] if scale.repos_per_team > 1 else []
        overrides = {}
        if any(t.name == "platform" for t in teams):
            overrides["platform"] = {"roadmap": 0.3, "platform": 0.6, "unplanned": 0.1}
        rng.random()
        return cls(
            seed=seed,
            scale=scale,
            teams=teams,
            outsiders=outsiders,
            unmapped_services=["PSUNMAPPED"],
            workflow_repos=workflow_repos,
            budget_overrides=overrides,
        )

    def catalog(self) -> dict:
        """The catalog YAML document that describes this organisation."""
        teams = []
        for t in self.teams:
            members = []
            for p in t.members:
                m: dict[str, str] = {"github": p.login, "email": p.email}
                if p.pd_in_catalog:
                    m["pagerduty"] = p.pd_user_id
                members.append(m)
            teams.append(
                {
                    "name": t.name,
                    "repos": list(t.repos),
                    "services": list(t.services),
                    "members": members,
                }
            )
        doc = {
            "version": 1,
            "teams": teams,
            "budget": {
                "default": {"roadmap": 0.70, "platform": 0.20, "unplanned": 0.10},
                "overrides": self.budget_overrides,
            },
            "classification": {
                "priority": ["unplanned", "platform", "roadmap"],
                "labels": {
                    "feature": "roadmap",
                    "enhancement": "roadmap",
                    "platform": "platform",
                    "tech-debt": "platform",
                    "bug": "unplanned",
                    "incident": "unplanned",
                },
            },
            "repositories": {
                r: {"deployment_signal": "workflow_runs", "workflow_pattern": "(?i)deploy"}
                for r in self.workflow_repos
            },
            # A second theme beside trust, on the product tags the simulated tickets carry.
            "ticket_themes": {"integrations": ["api", "integrations"]},
            "settings": {
                "production_environment_pattern": "(?i)^(production|prod)$",
                "incident_window_hours": 24,
                "hourly_cost": 120,
                "handle_time_field_id": 360000001,
                "trust_tags": list(TRUST_TAGS),
                "billing_export": None,
            },
        }
        if self.scale.story is not None:
            doc["ticket_themes"] = {name: list(tags) for name, tags in TICKET_THEMES.items()}
            doc["bets"] = self.scale.story.catalog_bets()
        else:
            doc["bets"] = self.test_bets()
        return doc

    def test_bets(self) -> list[dict]:
        """Bets for the tests' histories, shipped mid-history with windows inside the data:
        weekly org-wide and team bets judged on the data, one with too few weeks, and a
        monthly one still in progress."""
        weeks = self.scale.days // 7
        mid = weeks // 2
        ship = (self.start + timedelta(weeks=mid, days=2)).date()
        # The first month has no active customers yet (no rate): the monthly bet ships in the
        # third month, its one-month baseline the second.
        month = self.start.date().replace(day=1)
        monthly_ship = (month + timedelta(days=62)).replace(day=10)
        team = self.teams[0].name
        baseline = max(1, min(3, mid))
        evaluation = max(1, weeks - mid - 1)

        def bet(bet_id: str, kpi: str, direction: str, shipped_on: date, **more) -> dict:
            return {
                "id": bet_id,
                "constraint": f"The {kpi.replace('_', ' ')} holds the roadmap back.",
                "bet": f"An investment aimed at {kpi.replace('_', ' ')}.",
                "kpi": kpi,
                "direction": direction,
                "shipped_on": shipped_on.isoformat(),
                **more,
            }

        return [
            bet(
                "ship-more",
                "deployments",
                "up",
                ship,
                baseline_periods=baseline,
                evaluation_periods=evaluation,
            ),
            bet(
                f"{team}-incidents",
                "incidents",
                "down",
                ship,
                team=team,
                baseline_periods=baseline,
                evaluation_periods=evaluation,
            ),
            bet(
                "fewer-incidents",
                "incidents",
                "down",
                ship,
                baseline_periods=max(1, min(2, mid)),
                evaluation_periods=2,
            ),
            bet(
                f"{team}-platform-time",
                "platform_share",
                "up",
                ship,
                team=team,
                baseline_periods=baseline,
                evaluation_periods=evaluation,
            ),
            bet(
                "trust", "trust_tickets_per_1k_customers", "down", monthly_ship, baseline_periods=1
            ),
        ]

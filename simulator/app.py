"""The simulator: the three APIs over one organisation and one clock."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.clock import SimClock
from simulator.credentials import (  # noqa: F401  (zendesk_basic: re-exported for callers)
    GITHUB_TOKEN,
    PAGERDUTY_TOKEN,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    zendesk_basic,
)
from simulator.faults import FaultInjector
from simulator.org import Org, Scale
from simulator.server import Request, Response, ServedService, WindowLimiter


@dataclass(frozen=True)
class RateLimits:
    """Per-service request budgets per window of real seconds (None: no limiting)."""

    github: tuple[int, float] | None = None
    pagerduty: tuple[int, float] | None = None
    zendesk: tuple[int, float] | None = None


class Simulator:
    def __init__(
        self,
        seed: int = 1,
        scale: Scale | None = None,
        *,
        rate_limits: RateLimits | None = None,
        fault_rate: float = 0.0,
        timeout_delay: float = 3.0,
        host: str = "127.0.0.1",
    ):
        from simulator.github import GitHubModel, GitHubService
        from simulator.pagerduty import PagerDutyModel, PagerDutyService
        from simulator.zendesk import ZendeskModel, ZendeskService

        self.seed = seed
        self.org = Org.generate(seed, scale)
        self.clock = SimClock(self.org.now0)
        limits = rate_limits or RateLimits()

        def limiter(spec: tuple[int, float] | None) -> WindowLimiter | None:
            return WindowLimiter(*spec) if spec else None

        self.github_model = GitHubModel(self.org)
        self.pagerduty_model = PagerDutyModel(self.org)
        self.zendesk_model = ZendeskModel(self.org)
        self.github = GitHubService(
            self.github_model,
            self.clock,
            FaultInjector(seed * 3 + 1, fault_rate),
            limiter(limits.github),
            timeout_delay,
        )
        self.pagerduty = PagerDutyService(
            self.pagerduty_model,
            self.clock,
            FaultInjector(seed * 3 + 2, fault_rate),
            limiter(limits.pagerduty),
            timeout_delay,
        )
        self.zendesk = ZendeskService(
            self.zendesk_model,
            self.clock,
            FaultInjector(seed * 3 + 3, fault_rate),
            limiter(limits.zendesk),
            timeout_delay,
        )
        self._served = [
            ServedService(s, self._control, host)
            for s in (self.github, self.pagerduty, self.zendesk)
        ]

    @property
    def services(self) -> dict:
        return {"github": self.github, "pagerduty": self.pagerduty, "zendesk": self.zendesk}

    def start(self) -> Simulator:
        for s in self._served:
            s.start()
        return self

    def stop(self) -> None:
        for s in self._served:
            s.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_urls(self) -> dict[str, str]:
        gh, pd, zd = (s.base_url for s in self._served)
        # ZENDESK_URL is the account's root (https://SUB.zendesk.com): the client adds /api/v2.
        return {"github": gh, "pagerduty": pd, "zendesk": zd.removesuffix("/api/v2")}

    def env(self) -> dict[str, str]:
        urls = self.base_urls
        return {
            "GITHUB_API_URL": urls["github"],
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "PAGERDUTY_API_URL": urls["pagerduty"],
            "PAGERDUTY_API_TOKEN": PAGERDUTY_TOKEN,
            "ZENDESK_URL": urls["zendesk"],
            "ZENDESK_EMAIL": ZENDESK_EMAIL,
            "ZENDESK_API_TOKEN": ZENDESK_TOKEN,
        }

    def advance(self, days: float = 0, hours: float = 0) -> None:
        now = self.clock.advance(days=days, hours=hours)
        if now > self.org.horizon:
            raise ValueError(
                f"the simulated history ends at {self.org.horizon:%Y-%m-%d}; "
                "raise Scale.horizon_days"
            )

    def _control(self, req: Request) -> Response:
        """POST /_sim/advance?days=N, /_sim/fault?service=&kind=&path=&times=, GET /_sim/now."""
        if req.path == "/_sim/advance":
            self.advance(days=float(req.arg("days", "0")), hours=float(req.arg("hours", "0")))
        elif req.path == "/_sim/fault":
            service = self.services[req.arg("service", "github")]
            service.faults.schedule(
                req.arg("kind", "500"), req.arg("path"), int(req.arg("times", "1"))
            )
        elif req.path != "/_sim/now":
            return Response(404, {"message": "unknown control path"})
        return Response(200, {"now": self.clock.now().isoformat()})

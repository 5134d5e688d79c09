"""The gate's knobs: catalog ``settings.gate``, their defaults, and their validation.

Every knob has a default (the table in ``expectations/README.md``); a catalog that sets one
knob keeps the defaults of the others, and a catalog that sets one coverage threshold keeps
the default thresholds of the other metrics. A bad value raises ``ValueError`` naming the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_COVERAGE_THRESHOLDS = {
    "deployments_compare_linked": 0.5,
    "changes_deployed": 0.5,
    "incidents_team_mapped": 0.5,
    "prs_classified": 0.3,
    "authors_mapped": 0.5,
}
ROW_DROP_ENV = "PLATFORM_KPIS_MAX_ROW_DROP"


@dataclass(frozen=True)
class GateSettings:
    # A mart losing more than this share of its rows against the last publication blocks it.
    max_row_drop: float = 0.5
    # A smaller loss, beyond this share, publishes with a warning.
    warn_row_drop: float = 0.1
    # A period with no events is reported when P(0) under the trailing mean is below this.
    zero_volume_probability: float = 0.001
    # How many previous periods make the trailing mean (at least half of them are required).
    trailing_periods: int = 8
    coverage_thresholds: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_COVERAGE_THRESHOLDS)
    )

    @property
    def min_history(self) -> int:
        return math.ceil(self.trailing_periods / 2)


KNOBS = ("max_row_drop", "warn_row_drop", "zero_volume_probability", "trailing_periods")


def _share(value: Any, key: str, *, open_low: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (0 < value <= 1 if open_low else 0 <= value <= 1):
        bounds = "(0, 1]" if open_low else "[0, 1]"
        raise ValueError(f"{key} must be a number in {bounds}, not {value!r}")
    return float(value)


def coverage_thresholds(raw: Any, key: str) -> dict[str, float]:
    """The default thresholds with the user's merged over them (never replacing them)."""
    if raw is None:
        return dict(DEFAULT_COVERAGE_THRESHOLDS)
    if not isinstance(raw, Mapping):
        raise ValueError(f"{key} must map coverage metrics to shares")
    unknown = sorted(str(k) for k in raw if k not in DEFAULT_COVERAGE_THRESHOLDS)
    if unknown:
        raise ValueError(
            f"{key} names unknown metrics {unknown} (known: {sorted(DEFAULT_COVERAGE_THRESHOLDS)})"
        )
    merged = dict(DEFAULT_COVERAGE_THRESHOLDS)
    merged.update({str(k): _share(v, f"{key}.{k}") for k, v in raw.items()})
    return merged


def parse_gate_settings(gate: Any, legacy_thresholds: Any = None) -> GateSettings:
    """``settings.gate`` of the catalog; ``settings.coverage_thresholds`` is the older
    spelling of ``settings.gate.coverage_thresholds`` and still read."""
    if gate is None:
        gate = {}
    if not isinstance(gate, Mapping):
        raise ValueError("settings.gate must be a mapping of gate settings")
    unknown = sorted(str(k) for k in gate if k not in (*KNOBS, "coverage_thresholds"))
    if unknown:
        raise ValueError(
            f"settings.gate has unknown keys {unknown} (known: {[*KNOBS, 'coverage_thresholds']})"
        )
    if "coverage_thresholds" in gate and legacy_thresholds is not None:
        raise ValueError(
            "set coverage thresholds once: settings.gate.coverage_thresholds "
            "(settings.coverage_thresholds is its older alias)"
        )
    thresholds_key = (
        "settings.coverage_thresholds"
        if legacy_thresholds is not None
        else "settings.gate.coverage_thresholds"
    )
    settings = GateSettings(
        coverage_thresholds=coverage_thresholds(
            gate.get("coverage_thresholds", legacy_thresholds), thresholds_key
        )
    )
    values: dict[str, Any] = {}
    for knob in ("max_row_drop", "warn_row_drop"):
        if knob in gate:
            values[knob] = _share(gate[knob], f"settings.gate.{knob}")
    if "zero_volume_probability" in gate:
        p = _share(
            gate["zero_volume_probability"], "settings.gate.zero_volume_probability", open_low=True
        )
        if p == 1:
            raise ValueError("settings.gate.zero_volume_probability must be below 1")
        values["zero_volume_probability"] = p
    if "trailing_periods" in gate:
        n = gate["trailing_periods"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 104:
            raise ValueError(
                f"settings.gate.trailing_periods must be a whole number in [1, 104], not {n!r}"
            )
        values["trailing_periods"] = n
    settings = replace(settings, **values)
    _check_band(settings, "settings.gate")
    return settings


def with_environment(settings: GateSettings, environ: Mapping[str, str]) -> GateSettings:
    """``PLATFORM_KPIS_MAX_ROW_DROP``, when set, overrides ``settings.gate.max_row_drop``."""
    raw = environ.get(ROW_DROP_ENV)
    if not raw:
        return settings
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ROW_DROP_ENV} must be a number in [0, 1], not {raw!r}") from None
    out = replace(settings, max_row_drop=_share(value, ROW_DROP_ENV))
    _check_band(out, ROW_DROP_ENV)
    return out


def _check_band(settings: GateSettings, where: str) -> None:
    if settings.warn_row_drop > settings.max_row_drop:
        raise ValueError(
            f"{where}: warn_row_drop ({settings.warn_row_drop}) must not exceed "
            f"max_row_drop ({settings.max_row_drop}): a drop warns before it blocks"
        )

"""Open hours counted per weekday (metrics.open_hours) equal the opening intervals enumerated one by one, minus
the blackouts — across clock changes, period edges inside a day, overlapping blackouts and capacity above 1."""

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app

from booking.extensions import db
from booking.models import Blackout, Resource
from booking.services.intervals import subtract
from booking.services.metrics import months_between, scoped_resources
from booking.services.open_hours import open_hours
from booking.services.schedule import opening_intervals


def enumerated(resource, blackouts, start, end) -> float:
    opened = [(max(s, start), min(e, end)) for s, e in opening_intervals(resource, start, end)]
    return sum((e - s).total_seconds() / 3600 for s, e in subtract(opened, blackouts)) * resource.capacity


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_counted_open_hours_equal_the_enumerated_intervals(factory, zone):
    current_app.config["TIMEZONE"] = zone
    rng = random.Random(5)
    hours = [(d, 0, 1440) for d in (5, 6)] + [(d, 510, 720) for d in range(5)] + [(d, 810, 1050) for d in range(5)]
    resource = factory.make_resource(capacity=3, opening_hours=hours)
    # Around both clock changes of 2026 in Europe (29 March, 25 October).
    base = datetime(2026, 3, 20, tzinfo=UTC)
    blackouts = []
    for _ in range(12):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 230, 15))
        blackouts.append((start, start + timedelta(minutes=rng.randrange(30, 60 * 24 * 9, 15))))
    db.session.add_all(
        Blackout(resource_id=resource.id, start=s, end=e, reason="maintenance", note="") for s, e in blackouts
    )
    db.session.commit()
    scope = scoped_resources([Resource.id == resource.id])
    for _ in range(25):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 200, 15))
        end = start + timedelta(minutes=rng.randrange(60, 60 * 24 * 60, 15))
        clipped = [(max(s, start), min(e, end)) for s, e in blackouts if s < end and e > start]
        expected = enumerated(resource, clipped, start, end)
        total = sum(hours for _resource, _piece, hours in open_hours(scope.resources, [(start, end)], scope.conditions))
        assert total == pytest.approx(expected, abs=1e-6)
        months = [(m_start, m_end) for _key, m_start, m_end in months_between(start, end)]
        by_month = defaultdict(float)
        for _resource, piece, hours in open_hours(scope.resources, months, scope.conditions):
            by_month[piece] += hours
        for piece, (m_start, m_end) in enumerate(months):
            clipped = [(max(s, m_start), min(e, m_end)) for s, e in blackouts if s < m_end and e > m_start]
            assert by_month[piece] == pytest.approx(enumerated(resource, clipped, m_start, m_end), abs=1e-6)
    assert expected > 0

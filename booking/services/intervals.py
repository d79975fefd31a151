"""Half-open interval arithmetic on instants: ``[start, end)`` (SPEC §2.2)."""

from datetime import datetime

Interval = tuple[datetime, datetime]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def merge(spans: list[Interval]) -> list[Interval]:
    """The union of ``spans`` as sorted, disjoint intervals (touching ones joined)."""
    result: list[Interval] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def subtract(pieces: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``pieces`` minus the union of ``holes``; both lists may be unsorted."""
    result = []
    holes = sorted(holes)
    for start, end in pieces:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def saturated(spans: list[Interval], capacity: int) -> list[Interval]:
    """The intervals in which at least ``capacity`` of ``spans`` overlap (a sweep over their endpoints)."""
    events = []
    for start, end in spans:
        events.append((start, 1))
        events.append((end, -1))
    # Ends sort before starts at the same instant: back-to-back spans do not overlap.
    events.sort(key=lambda e: (e[0], e[1]))
    full, count, opened = [], 0, None
    for at, delta in events:
        count += delta
        if count >= capacity and opened is None:
            opened = at
        elif count < capacity and opened is not None:
            if at > opened:
                full.append((opened, at))
            opened = None
    return full


def max_overlap(spans: list[Interval], start: datetime, end: datetime) -> int:
    """The largest number of ``spans`` that overlap at one instant inside ``[start, end)``."""
    clipped = [(max(s, start), min(e, end)) for s, e in spans if overlaps(s, e, start, end)]
    events = sorted([(s, 1) for s, _ in clipped] + [(e, -1) for _, e in clipped], key=lambda e: (e[0], e[1]))
    best = count = 0
    for _, delta in events:
        count += delta
        best = max(best, count)
    return best

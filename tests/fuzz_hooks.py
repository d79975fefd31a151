"""Hooks of the fuzz run in test_openapi.py, loaded by the tool from the ``SCHEMATHESIS_HOOKS`` environment variable.

Bodies generated for ``create_booking`` almost never pass the rules of SPEC §2.2, so the stateful chains of calls
(create → approve, cancel, check in … → read back) would stop at their first step. Most positive cases are therefore
aimed at a bookable resource of the fuzz data and a slot that keeps its rules: on the slot grid, inside one opening
interval, within the notice and the horizon, before the certificate expires, clear of the bookings and blackouts
known beforehand. The other positive cases and every negative one go as generated, so invalid input is still fuzzed.

The hooks know only what the test wrote to the JSON file named by ``FUZZ_BOOKABLE_PATH`` (see ``bookable_json`` in
test_openapi.py) and the answers they see; they read nothing of the application. They write the id of every booking
read back, one per line, to the file named by ``FUZZ_READ_PATH``: a read leaves no trace on the server for the test
to find. Choices come from a value the tool draws and from the generated body, never from an unseeded random source,
so a run repeats as far as the server's answers do.
"""

import json
import os
import random
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import schemathesis
from hypothesis import strategies as st

# The share of positive cases that keep their generated body.
KEEP_SHARE = 0.2
# Tries at a free slot before the body is left as generated.
TRIES = 20
# Bookings a few slots long leave the calendar mostly free for the next ones.
MAX_SLOTS = 4
DATASET_MAX_DAYS = 3


def _load() -> dict:
    with open(os.environ["FUZZ_BOOKABLE_PATH"], encoding="utf-8") as f:
        data = json.load(f)
    for resource in data["resources"]:
        resource["busy"] = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in resource["busy"]]
        until = resource["certificate_valid_until"]
        resource["certificate_valid_until"] = date.fromisoformat(until) if until else None
    return data


BOOKABLE = _load()
TZ = ZoneInfo(BOOKABLE["time_zone"])
# Requests this module aimed (see ``_aim_key``).
AIMED: set[str] = set()
# Resources that refused such a request by a rule of their own: the run itself retired or reshaped them (the
# provider's admin may), so later requests go to the others.
REFUSED: set[int] = set()
RESOURCE_RULES = {
    "resource_unavailable",
    "not_aligned",
    "too_short",
    "too_long",
    "too_soon",
    "too_far",
    "outside_opening_hours",
    "calibration_expired",
}


READ_LOCK = threading.Lock()


def _aim_key(body: dict) -> str:
    return json.dumps([body.get("resource_id"), body.get("start"), body.get("end")], default=str)


def _at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(), tzinfo=TZ) + timedelta(minutes=minute)


def _days(resource: dict, now: datetime) -> tuple[date, date]:
    """The first and last local day on which any start keeps the notice and the horizon."""
    first = (now + timedelta(hours=resource["lead_hours"])).astimezone(TZ).date() + timedelta(days=1)
    last = (now + timedelta(days=resource["horizon_days"])).astimezone(TZ).date() - timedelta(days=1)
    if resource["certificate_valid_until"] is not None:
        last = min(last, resource["certificate_valid_until"])
    return first, last


def _timed_slot(resource: dict, day: date, rng: random.Random) -> tuple[datetime, datetime] | None:
    intervals = [oh for oh in resource["opening_hours"] if oh["weekday"] == day.weekday()]
    if not intervals:
        return None
    interval = rng.choice(intervals)
    slot = resource["slot_minutes"]
    # The grid counts from local midnight.
    first_start = -(-interval["start_minute"] // slot) * slot
    room = (interval["end_minute"] - first_start) // slot
    fewest = -(-resource["min_minutes"] // slot)
    most = min(room, resource["max_minutes"] // slot, fewest + MAX_SLOTS - 1)
    if most < fewest:
        return None
    length = rng.randint(fewest, most)
    start = first_start + slot * rng.randint(0, room - length)
    return _at(day, start), _at(day, start + slot * length)


def _dataset_days(day: date, last: date, rng: random.Random) -> tuple[datetime, datetime]:
    # Access ends at a midnight no later than the one after the last bookable day.
    days = rng.randint(1, min(DATASET_MAX_DAYS, (last - day).days + 1))
    return _at(day, 0), _at(day + timedelta(days=days), 0)


def free_slot(rng: random.Random, now: datetime) -> tuple[int, datetime, datetime] | None:
    """A resource and a slot its rules accept and nothing known holds; None if none was found."""
    resources = [r for r in BOOKABLE["resources"] if r["id"] not in REFUSED] or BOOKABLE["resources"]
    for _ in range(TRIES):
        resource = rng.choice(resources)
        first, last = _days(resource, now)
        if last < first:
            continue
        day = first + timedelta(days=rng.randint(0, (last - first).days))
        if resource["kind"] == "dataset":
            span = _dataset_days(day, last, rng)
        else:
            span = _timed_slot(resource, day, rng)
        if span is None:
            continue
        start, end = span
        if not any(s < end and start < e for s, e in resource["busy"]):
            return resource["id"], start, end
    return None


def _aimed(case, seed: int):
    # The tool draws small numbers far more often than others; the rest of the generated body spreads the choices.
    rng = random.Random(f"{seed} {json.dumps(case.body, sort_keys=True, default=str)}")
    if rng.random() < KEEP_SHARE or not isinstance(case.body, dict):
        return case
    slot = free_slot(rng, datetime.now(TZ))
    if slot is not None:
        resource_id, start, end = slot
        body = {**case.body, "resource_id": resource_id, "start": start.isoformat(), "end": end.isoformat()}
        AIMED.add(_aim_key(body))
        case.body = body
    return case


@schemathesis.hook("flatmap_case").apply_to(operation_id="create_booking")
def aim_at_a_free_slot(context, case):
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative:
        return st.just(case)
    return st.integers(0, 2**32 - 1).map(lambda seed: _aimed(case, seed))


@schemathesis.hook("after_call").apply_to(operation_id="create_booking")
def note_a_refusing_resource(context, case, response):
    body = case.body
    if response.status_code != 422 or not isinstance(body, dict):
        return
    if _aim_key(body) in AIMED:
        if response.json()["error"]["code"] in RESOURCE_RULES:
            REFUSED.add(body["resource_id"])


@schemathesis.hook("after_call").apply_to(operation_id="get_booking")
def note_a_read_back(context, case, response):
    if response.status_code == 200:
        with READ_LOCK, open(os.environ["FUZZ_READ_PATH"], "a", encoding="utf-8") as f:
            f.write(f"{case.path_parameters['booking_id']}\n")

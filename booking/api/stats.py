"""The program's figures (SPEC §5): usage in the caller's scope, and the partner program per 市州."""

from ..services import metrics
from ..services import program as program_service
from ..services.clock import local_date, now_utc
from . import api_user, bp, ok, parse_query
from .schemas import ProgramQuery, UsageQuery


@bp.get("/stats/usage")
def stats_usage():
    user = api_user()
    q = parse_query(UsageQuery)
    return ok(metrics.usage(user, q.from_, q.to, q.group_by, city=q.city, organization_id=q.organization_id))


@bp.get("/stats/program")
def stats_program():
    user = api_user()
    q = parse_query(ProgramQuery)
    year = q.year if q.year is not None else local_date(now_utc()).year
    return ok(program_service.program(user, year))

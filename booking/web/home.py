from flask import render_template
from sqlalchemy import func, select

from ..extensions import db
from ..models import Booking, Organization, Partnership, Resource
from ..models.enums import BookingStatus, OrgKind, PartnershipStatus, ResourceStatus
from . import bp
from .forms import SearchForm


def headline_figures() -> dict:
    """What the home page shows anyone: how much is shared and used."""
    count = lambda stmt: db.session.scalar(stmt) or 0  # noqa: E731
    return {
        "resources": count(select(func.count(Resource.id)).where(Resource.status != ResourceStatus.retired)),
        "providers": count(select(func.count(func.distinct(Resource.organization_id)))),
        "smes": count(select(func.count(Organization.id)).where(Organization.kind == OrgKind.sme)),
        "partnerships": count(select(func.count(Partnership.id)).where(Partnership.status == PartnershipStatus.active)),
        "completed": count(select(func.count(Booking.id)).where(Booking.status == BookingStatus.completed)),
    }


@bp.get("/")
def home():
    return render_template("index.html", figures=headline_figures(), form=SearchForm())

"""The benchmarks' national data set (``bench/national_load``) writes its rows with their own ids; the platform then
works on it as on any database: the next organization, user, resource and booking get free ids."""

import sys
from datetime import date

from booking.extensions import db
from booking.models import Booking
from booking.models.enums import OrgKind, Role

from .booking_checks import booking_body
from .factories import next_weekday
from .live import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from national_load import generate  # noqa: E402


def test_after_the_national_data_set_is_loaded_new_rows_get_free_ids(app, factory, api):
    generate(resources=30, bookings=300, as_of=date.today())
    db.session.commit()

    org, _admin, _operator = factory.make_provider()
    resource = factory.make_resource(org)
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    day = next_weekday()
    response = api.as_(member).post("/bookings", json=booking_body(resource, day, 9, 11, purpose="来料检验"))
    assert response.status_code == 201, response.get_json()
    assert db.session.get(Booking, response.get_json()["id"]).resource_id == resource.id

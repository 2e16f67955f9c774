"""Which fields the form screen marks optional depends on the variant chosen."""

from __future__ import annotations

from kiosk_app.domain import kk_change
from kiosk_app.domain.form_variants import required_now


def test_variant_fields_are_required_only_for_their_variant() -> None:
    split = {"change_type": kk_change.SPLIT}
    assert required_now("perubahan_kk", "new_head_nik", split, False)
    assert not required_now("perubahan_kk", "member_name", split, False)
    assert required_now("perubahan_kk", "member_name", {"change_type": kk_change.NEW_MEMBER}, False)
    assert required_now("perubahan_kk", "kk_number", {}, True)  # common field
    assert required_now("akta_kelahiran", "child_name", {}, True)  # no variants: as declared
    assert not required_now("akta_kelahiran", "contact_email", {}, False)

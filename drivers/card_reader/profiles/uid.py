"""The UID-only profile: any contactless card, identified by its UID alone (no NIK)."""

from __future__ import annotations

from drivers.card_reader.iso7816 import Iso7816, StatusWordError
from drivers.card_reader.profiles.base import CardData, SamAuthenticator
from drivers.errors import CardUnreadable


class UidOnlyProfile:
    """Reads the UID via PC/SC GET DATA; the kiosk then asks for the NIK and a PIN."""

    name = "uid"
    needs_sam = False

    def read(self, card: Iso7816, sam: SamAuthenticator | None) -> CardData:
        """Return CardData with `identity=None` and the UID in hex."""
        try:
            uid = card.get_data_uid()
        except StatusWordError as exc:
            raise CardUnreadable(f"reader refused GET DATA UID: {exc}") from exc
        if not 4 <= len(uid) <= 10:
            raise CardUnreadable(f"UID of {len(uid)} bytes")
        return CardData(uid=uid.hex().upper(), identity=None)

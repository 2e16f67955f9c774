"""A SAM authenticator speaking the reference profile's SAM commands over PC/SC."""

from __future__ import annotations

from drivers.card_reader.iso7816 import (
    Iso7816,
    MalformedResponse,
    StatusWordError,
    WarningStatus,
)
from drivers.card_reader.profiles.reference import CHALLENGE_SIZE, CRYPTOGRAM_SIZE, SAM_AID
from drivers.errors import CardNotAuthentic, SamFault, SamMissing

INS_AUTHENTICATE = 0xA0  # card serial + card challenge -> reader random + reader cryptogram
INS_VERIFY = 0xA2  # card cryptogram -> 9000 or 6300


class PcscSam:
    """Drives the SAM in the reader's second slot; one card authentication at a time.

    Whatever goes wrong on the SAM's side (a refusal, a garbled or short answer) is a SamFault:
    the citizen's card is not to blame and an attendant must look at the reader.
    """

    def __init__(self, sam: Iso7816) -> None:
        """Wrap an ISO 7816 channel to the SAM; select() must succeed before use."""
        self._sam = sam

    def select(self) -> None:
        """SELECT the SAM application; SamMissing when the card in the slot is not our SAM."""
        try:
            self._sam.select_aid(SAM_AID)
        except StatusWordError as exc:
            raise SamMissing(f"SAM slot holds no reference SAM: {exc}") from exc
        except MalformedResponse as exc:
            raise SamFault(f"SAM answered SELECT with garbage: {exc}") from exc

    def authenticate(self, card_serial: bytes, card_challenge: bytes) -> bytes:
        """Ask the SAM for the reader's answer to the card's challenge."""
        data = bytes([len(card_serial)]) + card_serial + card_challenge
        apdu = bytes([0x80, INS_AUTHENTICATE, 0x00, 0x00, len(data)]) + data + b"\x00"
        try:
            answer = self._sam.send(apdu, "SAM AUTHENTICATE")
        except StatusWordError as exc:
            raise SamFault(f"SAM refused to authenticate: {exc}") from exc
        except MalformedResponse as exc:
            raise SamFault(f"SAM answered AUTHENTICATE with garbage: {exc}") from exc
        if len(answer) != CHALLENGE_SIZE + CRYPTOGRAM_SIZE:
            raise SamFault(f"SAM answered AUTHENTICATE with {len(answer)} bytes")
        return answer

    def self_test(self) -> None:
        """AUTHENTICATE a made-up card: the SAM works if it answers in form (needs no card)."""
        self.authenticate(bytes(8), bytes(CHALLENGE_SIZE))

    def verify(self, card_cryptogram: bytes) -> None:
        """Let the SAM check the chip's cryptogram."""
        if len(card_cryptogram) != CRYPTOGRAM_SIZE:
            raise CardNotAuthentic(f"card cryptogram of {len(card_cryptogram)} bytes")
        apdu = bytes([0x80, INS_VERIFY, 0x00, 0x00, len(card_cryptogram)]) + card_cryptogram
        try:
            self._sam.send(apdu, "SAM VERIFY")
        except WarningStatus as exc:
            raise CardNotAuthentic(f"SAM rejected the chip: {exc}") from exc
        except StatusWordError as exc:
            raise SamFault(f"SAM failed to verify: {exc}") from exc
        except MalformedResponse as exc:
            raise SamFault(f"SAM answered VERIFY with garbage: {exc}") from exc

"""Card profiles: how to read one kind of card once it is in the field."""

from __future__ import annotations

from collections.abc import Callable

from drivers.card_reader.profiles.base import CardData, CardProfile, SamAuthenticator
from drivers.card_reader.profiles.reference import ReferenceProfile
from drivers.card_reader.profiles.uid import UidOnlyProfile

PROFILES: dict[str, Callable[[], CardProfile]] = {
    "reference": ReferenceProfile,
    "uid": UidOnlyProfile,
}


def get_profile(name: str) -> CardProfile:
    """Return a fresh profile by name; ValueError for an unknown one."""
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError(f"unknown card profile {name!r}; known: {sorted(PROFILES)}") from None


__all__ = ["CardData", "CardProfile", "SamAuthenticator", "get_profile", "PROFILES"]

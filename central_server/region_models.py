"""Tables of the region master list: editions (one current) and their regions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from central_server.models import Base


class RegionEdition(Base):
    """One imported edition of the Kemendagri region codes; exactly one is current."""

    __tablename__ = "region_editions"
    edition_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # content hash
    label: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str] = mapped_column(String(64))
    provinces: Mapped[int] = mapped_column(Integer)
    regencies: Mapped[int] = mapped_column(Integer)
    districts: Mapped[int] = mapped_column(Integer)
    villages: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, index=True)
    # The kiosks' download, built once at import: gzip'd JSON {"edition", "regions": [[code, name]]}
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Region(Base):
    """One province, kabupaten/kota, kecamatan or kelurahan/desa of an edition."""

    __tablename__ = "regions"
    edition_id: Mapped[str] = mapped_column(
        ForeignKey("region_editions.edition_id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(10), primary_key=True)  # no dots: 2/4/6/10 digits
    level: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(200))

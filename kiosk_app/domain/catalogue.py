"""The services the kiosk offers, what each is for and which documents to bring."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kiosk_app.domain import akta_kelahiran
from kiosk_app.domain.akta_kelahiran import AKTA_KELAHIRAN
from kiosk_app.domain.forms import FormSpec
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Language, Text

T = Text

NOT_BUILT_YET = T(
    "Layanan ini belum bisa diajukan di anjungan. Silakan datang ke loket pelayanan.",
    "This service cannot be requested at the kiosk yet. Please go to the service counter.",
)


@dataclass(frozen=True)
class ServiceInfo:
    """One service on the menu; `form` is None while its kiosk form is not built yet."""

    key: str
    title: Text
    registration_prefix: str  # registration numbers look like AKTA-...
    form: FormSpec | None
    required_documents: tuple[Text, ...]
    purpose: Text
    prefill_from_card: Callable[[Identity], dict[str, str]] | None = field(default=None, compare=False)
    summarize: Callable[..., list[tuple[str, str]]] | None = field(default=None, compare=False)
    subject_field: str = ""  # the field that names whom the document is for

    def prefill(self, identity: Identity) -> dict[str, str]:
        """Form values known from the card holder's e-KTP."""
        return self.prefill_from_card(identity) if self.prefill_from_card else {}

    def summary(
        self, values: Mapping[str, str], lang: Language, *, mask: bool = False
    ) -> list[tuple[str, str]]:
        """(label, value) rows for the review screen and the receipt."""
        return self.summarize(values, lang, mask=mask) if self.summarize else []

    def subject(self, values: Mapping[str, str]) -> str:
        """Whom the document is for, e.g. the child's name."""
        return values.get(self.subject_field, "")

    @property
    def available(self) -> bool:
        """True when the citizen can fill the pre-application at the kiosk."""
        return self.form is not None


_KK = T("Kartu Keluarga (KK) asli", "Original family card (KK)")

SERVICES: dict[str, ServiceInfo] = {
    s.key: s
    for s in (
        ServiceInfo(
            key="akta_kelahiran",
            title=AKTA_KELAHIRAN.title,
            registration_prefix="AKTA",
            form=AKTA_KELAHIRAN,
            required_documents=(
                T(
                    "Surat keterangan lahir dari rumah sakit, puskesmas atau bidan",
                    "Birth statement from the hospital, health centre or midwife",
                ),
                _KK,
                T(
                    "Buku nikah atau akta perkawinan orang tua",
                    "The parents' marriage book or marriage certificate",
                ),
                T("e-KTP ayah dan ibu", "The father's and mother's e-KTP"),
                T("e-KTP dua orang saksi", "The e-KTP of the two witnesses"),
            ),
            purpose=T("Penerbitan akta kelahiran anak", "Issuing a child's birth certificate"),
            prefill_from_card=akta_kelahiran.prefill,
            summarize=akta_kelahiran.summary,
            subject_field="child_name",
        ),
        ServiceInfo(
            key="akta_kematian",
            title=T("Akta Kematian", "Death certificate"),
            registration_prefix="AKM",
            form=None,
            required_documents=(
                T(
                    "Surat keterangan kematian dari rumah sakit atau kelurahan/desa",
                    "Death statement from the hospital or the village office",
                ),
                _KK,
                T("e-KTP almarhum/almarhumah", "The e-KTP of the deceased"),
                T(
                    "e-KTP pelapor dan dua orang saksi",
                    "The e-KTP of the reporter and two witnesses",
                ),
            ),
            purpose=T("Penerbitan akta kematian", "Issuing a death certificate"),
        ),
        ServiceInfo(
            key="perubahan_kk",
            title=T("Perubahan Kartu Keluarga", "Family card update"),
            registration_prefix="KK",
            form=None,
            required_documents=(
                _KK,
                T(
                    "Dokumen dasar perubahan (akta, buku nikah, surat pindah, dll.)",
                    "The document behind the change (certificate, marriage book, moving letter...)",
                ),
            ),
            purpose=T(
                "Perubahan data atau anggota Kartu Keluarga",
                "Changing the data or members of a family card",
            ),
        ),
        ServiceInfo(
            key="cetak_ulang_ktp",
            title=T("Cetak Ulang e-KTP", "e-KTP reprint"),
            registration_prefix="KTP",
            form=None,
            required_documents=(
                _KK,
                T(
                    "e-KTP yang rusak, atau surat kehilangan dari kepolisian",
                    "The damaged e-KTP, or a police report of its loss",
                ),
            ),
            purpose=T(
                "Cetak ulang e-KTP yang rusak atau hilang", "Reprinting a damaged or lost e-KTP"
            ),
        ),
        ServiceInfo(
            key="kia",
            title=T("Kartu Identitas Anak (KIA)", "Child identity card (KIA)"),
            registration_prefix="KIA",
            form=None,
            required_documents=(
                T("Akta kelahiran anak", "The child's birth certificate"),
                _KK,
                T("e-KTP ayah atau ibu", "The father's or mother's e-KTP"),
                T(
                    "Pas foto anak berwarna (untuk anak 5 tahun ke atas)",
                    "A colour photo of the child (for children aged 5 and over)",
                ),
            ),
            purpose=T("Penerbitan Kartu Identitas Anak", "Issuing a child identity card"),
        ),
        ServiceInfo(
            key="pindah",
            title=T("Surat Pindah", "Moving letter"),
            registration_prefix="PDH",
            form=None,
            required_documents=(
                _KK,
                T("e-KTP anggota keluarga yang pindah", "The e-KTP of each family member moving"),
            ),
            purpose=T("Surat keterangan pindah penduduk", "Certificate for moving residence"),
        ),
    )
}

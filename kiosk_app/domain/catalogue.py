"""The services the kiosk offers, what each is for and which documents to bring."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kiosk_app.domain import akta_kelahiran, akta_kematian, kia, kk_change, ktp_reprint, pindah
from kiosk_app.domain.akta_kelahiran import AKTA_KELAHIRAN
from kiosk_app.domain.contact import with_contact, with_contact_prefill, with_contact_summary
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
    prefill_from_card: Callable[[Identity], dict[str, str]] | None = field(
        default=None, compare=False
    )
    summarize: Callable[..., list[tuple[str, str]]] | None = field(default=None, compare=False)
    subject_field: str = ""  # the field that names whom the document is for
    subject_nik_field: str = ""  # the field holding that person's NIK (the issued document's)

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
            form=with_contact(AKTA_KELAHIRAN),
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
            prefill_from_card=with_contact_prefill(akta_kelahiran.prefill),
            summarize=with_contact_summary(akta_kelahiran.summary),
            subject_field="child_name",
        ),
        ServiceInfo(
            key="akta_kematian",
            title=T("Akta Kematian", "Death certificate"),
            registration_prefix="AKM",
            form=with_contact(akta_kematian.AKTA_KEMATIAN),
            prefill_from_card=with_contact_prefill(akta_kematian.prefill),
            summarize=with_contact_summary(akta_kematian.summary),
            subject_field="deceased_name",
            subject_nik_field="deceased_nik",
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
            form=with_contact(kk_change.KK_CHANGE),
            prefill_from_card=with_contact_prefill(kk_change.prefill),
            summarize=with_contact_summary(kk_change.summary),
            subject_field="kk_head_name",
            subject_nik_field="",
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
            form=with_contact(ktp_reprint.KTP_REPRINT, delivery=False),
            prefill_from_card=with_contact_prefill(ktp_reprint.prefill, delivery=False),
            summarize=with_contact_summary(ktp_reprint.summary, delivery=False),
            subject_field="ktp_name",
            subject_nik_field="ktp_nik",
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
            form=with_contact(kia.KIA),
            prefill_from_card=with_contact_prefill(kia.prefill),
            summarize=with_contact_summary(kia.summary),
            subject_field="child_name",
            subject_nik_field="child_nik",
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
            form=with_contact(pindah.PINDAH),
            prefill_from_card=with_contact_prefill(pindah.prefill),
            summarize=with_contact_summary(pindah.summary),
            subject_field="kk_head_name",
            subject_nik_field="",
            required_documents=(
                _KK,
                T("e-KTP anggota keluarga yang pindah", "The e-KTP of each family member moving"),
            ),
            purpose=T("Surat keterangan pindah penduduk", "Certificate for moving residence"),
        ),
    )
}
